/**
 * The camera agent of the AGL guide's example: `camera/detect {"distanceM": 4}` reports an
 * obstacle; closer than `thresholdM` it broadcasts `camera/collision-imminent` to every receiver,
 * including other agents (see brake.ts).
 * @module
 */
import { type Agent, defineAgent } from "../mod.ts";

/** Creates a camera agent; obstacles closer than `thresholdM` metres are imminent collisions. */
export function cameraAgent(thresholdM = 10): Agent {
  return defineAgent({
    api: "camera",
    verbs: {
      detect(req, ctx) {
        const { distanceM } = (req.args ?? {}) as { distanceM?: unknown };
        if (typeof distanceM !== "number" || distanceM < 0) {
          return req.fail("bad-args", 'Expected { "distanceM": number >= 0 }');
        }
        if (distanceM >= thresholdM) return { imminent: false, receivers: 0 };
        const receivers = ctx.broadcastEvent("collision-imminent", {
          distanceM,
        });
        return { imminent: true, receivers };
      },
    },
  });
}

/** The agent `emd --agent ./examples/camera.ts` loads. */
export default cameraAgent();
