/**
 * The speed agent: the AGL guide's signaling-agent example, done properly.
 *
 * Clients call `speed/subscribe {"unit": "kmh" | "mph", "hz": 1}`. Each distinct (unit, frequency)
 * is one event with one timer, e.g. `speed/kmh-1Hz` and `speed/mph-2Hz`; a second client asking for
 * the same thing is subscribed to the same event and shares its timer. When a push reaches nobody
 * the agent stops that timer, drops the event and broadcasts `speed/stopped`; a later request starts
 * it again.
 *
 * Run it from the checkout: `npx -y deno@2.9.6 task start --agent ./examples/speed.ts` (emd on
 * 127.0.0.1:4000), then `em emsub --call speed/subscribe --args '{"unit":"mph","hz":2}' 127.0.0.1
 * 4000 'speed/*'` (`em` as in the README's walkthrough).
 * @module
 */
import {
  type Agent,
  type AgentContext,
  type AgentEvent,
  type AgentRequest,
  defineAgent,
  type JsonValue,
} from "../mod.ts";

/** Options of {@link speedAgent}. */
export interface SpeedOptions {
  /**
   * Highest frequency a client may ask for, in Hz.
   * @default {50}
   */
  readonly maxHz?: number;
  /**
   * The simulated speed in km/h at a time in milliseconds.
   * @default {a slow wave between 60 and 100 km/h}
   */
  readonly kmhAt?: (timeMs: number) => number;
}

type Unit = "kmh" | "mph";
const KM_PER_MILE = 1.609344;

interface Stream {
  readonly event: AgentEvent;
  readonly timer: ReturnType<typeof setInterval>;
  seq: number;
}

/** Creates a speed agent with its own streams (one per server). */
export function speedAgent(options: SpeedOptions = {}): Agent {
  const maxHz = options.maxHz ?? 50;
  const kmhAt = options.kmhAt ??
    ((ms: number) => 80 + 20 * Math.sin(ms / 5_000));
  const streams = new Map<string, Stream>();

  const speedIn = (unit: Unit): number => {
    const kmh = kmhAt(Date.now());
    return Math.round((unit === "kmh" ? kmh : kmh / KM_PER_MILE) * 10) / 10;
  };

  const stop = (ctx: AgentContext, name: string): void => {
    const stream = streams.get(name);
    if (stream === undefined) return;
    clearInterval(stream.timer);
    stream.event.drop();
    streams.delete(name);
    ctx.broadcastEvent("stopped", { event: name });
  };

  /** The stream of (unit, hz): reused when it runs, started otherwise. */
  const streamFor = (ctx: AgentContext, unit: Unit, hz: number): Stream => {
    const event = ctx.makeEvent(`${unit}-${hz}Hz`);
    const running = streams.get(event.name);
    if (running !== undefined) return running;
    const tick = (): void => {
      const data = { unit, hz, speed: speedIn(unit), seq: ++stream.seq };
      if (event.push(data) === 0) stop(ctx, event.name); // nobody listens any more
    };
    const stream: Stream = {
      event,
      timer: setInterval(tick, 1_000 / hz),
      seq: 0,
    };
    streams.set(event.name, stream);
    return stream;
  };

  const parse = (req: AgentRequest): { unit: Unit; hz: number } => {
    const args = (req.args ?? {}) as { unit?: JsonValue; hz?: JsonValue };
    const unit = args.unit === "km/h" ? "kmh" : args.unit;
    const hz = args.hz ?? 1;
    if (unit !== "kmh" && unit !== "mph") {
      throw new RangeError(`Unknown unit "${args.unit}": use "kmh" or "mph"`);
    }
    if (typeof hz !== "number" || !(hz > 0 && hz <= maxHz)) {
      throw new RangeError(`Invalid frequency "${hz}": use 0 < hz <= ${maxHz}`);
    }
    return { unit, hz };
  };

  return defineAgent({
    api: "speed",
    verbs: {
      subscribe(req, ctx) {
        const { unit, hz } = parse(req);
        const stream = streamFor(ctx, unit, hz);
        req.subscribe(stream.event);
        return { event: stream.event.name, unit, hz };
      },
      unsubscribe(req, ctx) {
        const { unit, hz } = parse(req);
        const stream = streams.get(`speed/${unit}-${hz}Hz`);
        if (stream !== undefined) req.unsubscribe(stream.event);
        return { event: `${ctx.api}/${unit}-${hz}Hz` };
      },
      get(req) {
        const { unit } = parse(req);
        return { unit, speed: speedIn(unit) };
      },
      stats: () => ({
        streams: [...streams.values()].map(({ event, seq }) => ({
          event: event.name,
          subscribers: event.subscriberCount,
          pushed: seq,
        })),
      }),
    },
    stop() {
      for (const stream of streams.values()) clearInterval(stream.timer);
      streams.clear();
    },
  });
}

/** The agent `emd --agent ./examples/speed.ts` loads. */
export default speedAgent();
