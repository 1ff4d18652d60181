import type { EmClient } from "../client/mod.ts";
import {
  CallError,
  compilePattern,
  EmError,
  isValidPattern,
} from "../protocol/mod.ts";
import type { ServerStats, TapBatch, TappedEvent } from "../server/mod.ts";
import { formatReport } from "./_stat_report.ts";
import {
  CLIENT_OPTIONS,
  EXIT,
  onStopSignals,
  out,
  parseServer,
  parseTool,
  reportFailure,
  type ServerTarget,
  type ToolSpec,
  usageError,
} from "./_tool.ts";
import { connectTool } from "./_connect_tool.ts";

/** emstat's command line. */
export const spec: ToolSpec = {
  name: "emstat",
  usage: "[--json] [--watch MS] [--events PATTERN] [-c N] hostname port",
  help:
    `Reports what the em server at hostname:port is doing: connections, triggers and
deliveries, disconnects by reason, agents, sync state, memory and CPU. Uses the
server's own API over TCP (a 1.2 "emd/stats" call), so it needs no --http.

Options:
  --json            print the report as one line of JSON (docs/PROTOCOL.md,
                    "1.2: the emd API")
  --watch MS        print the report again every MS milliseconds, in place on a
                    terminal, with rates per second; until SIGINT or SIGTERM
  --events PATTERN  print events as they pass, one line each: name, data,
                    sender and receivers (* is any run of characters but
                    "/", ** any run at all).
                    With --json, one JSON object each. The server lists at most
                    400 a second; a "# N more" line counts the rest
  -c N              with --events: exit 0 after N events

Exit 0 ok (SIGINT/SIGTERM included), 1 unreachable, refused or no emd API, 64
bad arguments.`,
  options: {
    ...CLIENT_OPTIONS,
    json: { type: "boolean" },
    watch: { type: "string" },
    events: { type: "string" },
    c: { type: "string", short: "c" },
  },
  minPositionals: 2,
  maxPositionals: 2,
};

/** What emstat was asked to do. */
interface Plan {
  readonly server: ServerTarget;
  readonly json: boolean;
  readonly watchMs: number | undefined;
  readonly pattern: string | undefined;
  readonly count: number;
}

/** Runs emstat; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const plan = parsePlan(args);
  if (typeof plan === "number") return plan;
  const stop = new AbortController();
  using _signals = onStopSignals(() => stop.abort("signal"));
  try {
    const connected = await connectTool(spec, plan.server, {
      receive: plan.pattern !== undefined,
      signal: stop.signal,
    });
    if (typeof connected === "number") return connected;
    await using client = connected;
    if (plan.pattern !== undefined) {
      return await streamEvents(client, plan, stop.signal);
    }
    return await report(client, plan, stop.signal);
  } catch (error) {
    if (stop.signal.aborted) return EXIT.OK;
    return reportFailure(spec.name, explain(error, plan.server));
  }
}

function parsePlan(args: string[]): Plan | number {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const server = parseServer(spec, parsed);
  if (typeof server === "number") return server;
  const { values } = parsed;
  const watch = values.watch as string | undefined;
  const watchMs = watch === undefined ? undefined : Number(watch);
  if (
    watchMs !== undefined && !(Number.isInteger(watchMs) && watchMs >= 10)
  ) {
    return usageError(
      spec,
      `invalid --watch "${watch}": use milliseconds, at least 10`,
    );
  }
  const pattern = values.events as string | undefined;
  if (pattern !== undefined && !isValidPattern(pattern)) {
    return usageError(spec, `invalid pattern "${pattern}"`);
  }
  if (pattern !== undefined && watchMs !== undefined) {
    return usageError(spec, "give --watch or --events, not both");
  }
  const count = values.c === undefined ? -1 : Number(values.c);
  if (!(count === -1 || (Number.isInteger(count) && count > 0))) {
    return usageError(spec, `invalid -c "${values.c}": use a positive count`);
  }
  if (count !== -1 && pattern === undefined) {
    return usageError(spec, "-c goes with --events");
  }
  return { server, json: values.json === true, watchMs, pattern, count };
}

async function report(
  client: EmClient,
  plan: Plan,
  signal: AbortSignal,
): Promise<number> {
  const inPlace = plan.watchMs !== undefined && !plan.json &&
    Deno.stdout.isTerminal();
  let previous: ServerStats | undefined;
  while (true) {
    const stats = await client.call("emd/stats") as unknown as ServerStats;
    if (plan.json) out(JSON.stringify(stats));
    else if (inPlace) out(`\x1b[H\x1b[2J${formatReport(stats, previous)}`);
    else out(formatReport(stats, previous) + (plan.watchMs ? "\n" : ""));
    if (plan.watchMs === undefined) return EXIT.OK;
    previous = stats;
    await pause(plan.watchMs, signal);
  }
}

async function streamEvents(
  client: EmClient,
  plan: Plan,
  signal: AbortSignal,
): Promise<number> {
  const batches = client.events("emd/events", { signal }); // open before the first batch
  await client.call("emd/watch", { events: true, stats: false });
  const matches = compilePattern(plan.pattern!);
  let printed = 0;
  for await (const { data } of batches) {
    const batch = data as unknown as TapBatch;
    for (const event of batch.events) {
      if (!matches(event.name)) continue;
      out(plan.json ? JSON.stringify(event) : eventLine(event));
      if (++printed === plan.count) return EXIT.OK;
    }
    if (batch.skipped > 0 && !plan.json) {
      out(`# ${batch.skipped} more events passed, not listed`);
    }
  }
  throw new EmError("closed", "Connection closed");
}

/** `name data  (from → receivers)`, as `mosquitto_sub -v` prints a topic and its payload. */
export function eventLine(event: TappedEvent): string {
  const data = event.preview ?? "-";
  return `${event.name} ${data}  (${event.from} → ${event.receivers})`;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** A server without the emd API (another EM server, an older emd) says so plainly. */
function explain(error: unknown, server: ServerTarget): unknown {
  if (error instanceof CallError && error.failure === "unknown-verb") {
    return new EmError(
      "failed",
      `Cannot read the stats of "${server.hostname}:${server.port}": the server has no emd API (not emd, or an older one)`,
    );
  }
  return error;
}
