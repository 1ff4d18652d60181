import type { JsonValue } from "../../protocol/mod.ts";
import type { Agent, AgentContext, AgentEvent } from "../agents/agent.ts";
import type { Counters } from "./counters.ts";
import type { ServerStats } from "./stats.ts";

/** The API name of emd's own agent; no hosted agent may take it. */
export const EMD_API = "emd";
/** How often `emd/stats` is pushed to watchers. */
export const STATS_INTERVAL_MS = 1000;

/** What the `emd` agent reads from its server. */
export interface EmdAgentSource {
  /** The server's report. */
  stats(detail?: boolean): ServerStats;
  /** The running totals and their event tap. */
  readonly counters: Counters;
}

/**
 * emd's own agent (`emd/...`), reachable like any agent over every transport:
 * - `emd/stats {"detail"?: true}` answers the server's report (docs/PROTOCOL.md, "1.2: the emd
 *   API");
 * - `emd/watch {"events"?: bool, "stats"?: bool, "waits"?: bool}` subscribes the caller to
 *   `emd/events` (batches of events as they pass) and `emd/stats` (the detailed report every
 *   {@link STATS_INTERVAL_MS}), and with `waits` to `emd/waits` (each confirmed wait, at once),
 *   and answers the report at once.
 * Its timer and the event tap run only while someone watches.
 */
export function emdAgent(source: EmdAgentSource): Agent {
  let events: AgentEvent | undefined, stats: AgentEvent | undefined;
  let waits: AgentEvent | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let tapping: Disposable | undefined, tappingWaits: Disposable | undefined;
  const tick = () => {
    if (stats !== undefined && stats.subscriberCount > 0) {
      stats.push(source.stats(true) as unknown as JsonValue);
    }
    if (tapping !== undefined && (events?.subscriberCount ?? 0) === 0) {
      tapping[Symbol.dispose]();
      tapping = undefined;
    }
    if (tappingWaits !== undefined && (waits?.subscriberCount ?? 0) === 0) {
      tappingWaits[Symbol.dispose]();
      tappingWaits = undefined;
    }
    if (
      tapping === undefined && tappingWaits === undefined &&
      (stats?.subscriberCount ?? 0) === 0
    ) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
    tapping?.[Symbol.dispose]();
    tapping = undefined;
    tappingWaits?.[Symbol.dispose]();
    tappingWaits = undefined;
  };
  return {
    api: EMD_API,
    init(ctx: AgentContext) {
      events = ctx.makeEvent("events");
      stats = ctx.makeEvent("stats");
      waits = ctx.makeEvent("waits");
    },
    verbs: {
      stats: (req) => source.stats(flag(req.args, "detail", false)),
      watch: (req) => {
        if (flag(req.args, "events", true)) {
          req.subscribe(events!);
          tapping ??= source.counters.tap.listen((batch) =>
            events!.push(batch as unknown as JsonValue)
          );
        }
        if (flag(req.args, "stats", true)) req.subscribe(stats!);
        if (flag(req.args, "waits", false)) {
          req.subscribe(waits!);
          tappingWaits ??= source.counters.tap.listenWaits((wait) =>
            waits!.push(wait as unknown as JsonValue)
          );
        }
        timer ??= setInterval(tick, STATS_INTERVAL_MS);
        return source.stats(true);
      },
    },
    stop,
  };
}

function flag(args: JsonValue, key: string, fallback: boolean): boolean {
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    return fallback;
  }
  const value = (args as Readonly<Record<string, JsonValue>>)[key];
  return typeof value === "boolean" ? value : fallback;
}
