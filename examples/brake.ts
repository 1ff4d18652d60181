/**
 * The brake agent of the AGL guide's example: it reacts to the camera's broadcast
 * `camera/collision-imminent` by braking, asks the speed agent (if hosted) how fast it was going,
 * and pushes `brake/applied` to its subscribers (`emsub 127.0.0.1 4000 brake/applied`).
 * @module
 */
import {
  type Agent,
  type AgentContext,
  defineAgent,
  type JsonValue,
} from "../mod.ts";

/** Creates a brake agent with its own count of brakings. */
export function brakeAgent(): Agent {
  let applied = 0;
  const brake = async (ctx: AgentContext, data: JsonValue | undefined) => {
    applied++;
    const speed = await ctx.call("speed/get", { unit: "kmh" }).catch(() =>
      null
    ); // other agents' verbs
    ctx.makeEvent("applied").push({ applied, cause: data ?? null, speed });
  };
  return defineAgent({
    api: "brake",
    verbs: { status: () => ({ applied }) },
    onEvent(name, data, ctx) {
      if (name === "camera/collision-imminent") return brake(ctx, data);
    },
  });
}

/** The agent `emd --agent ./examples/brake.ts` loads. */
export default brakeAgent();
