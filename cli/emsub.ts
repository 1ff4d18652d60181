import type { DataEvent, EmClient } from "../client/mod.ts";
import {
  compilePattern,
  EmError,
  isValidPattern,
  type JsonValue,
} from "../protocol/mod.ts";
import { parseTimeout } from "./emcall.ts";
import {
  CLIENT_OPTIONS,
  err,
  EXIT,
  onStopSignals,
  out,
  parseServer,
  parseTool,
  reportFailure,
  type ServerTarget,
  TimeLimit,
  type ToolSpec,
  usageError,
} from "./_tool.ts";
import { connectTool } from "./_connect_tool.ts";

/** emsub's command line. */
export const spec: ToolSpec = {
  name: "emsub",
  usage: "[-c N] [-W ms] [--call api/verb] [--args JSON] hostname port name…",
  help:
    `Subscribes to data events (protocol 1.2) on the em server at hostname:port and
prints one line of JSON per event: {"name":…,"data":…,"time":"ISO 8601"}.
Each name may be a pattern: * stands for any run of characters but "/" (speed/*),
** for any run of characters at all: '**' watches every event, at any depth.
Plain triggers of a matching name print with "data": null.

Options:
  -c N             exit 0 after N events
  -W ms            exit 2 when ms milliseconds pass first (with or without -c),
                   counted from the start: connecting is bounded by it too
  --call api/verb  after subscribing, call an agent's verb that subscribes this
                   connection (e.g. speed/subscribe); its events print too
  --args JSON      the verb's arguments (default: none)

With --call the names may be left out: every event arriving is printed.
SIGINT and SIGTERM end emsub (exit 0). Exit 1: unreachable, refused, a failed
call, or the connection was lost. Exit 64: bad arguments.`,
  options: {
    ...CLIENT_OPTIONS,
    c: { type: "string", short: "c" },
    W: { type: "string", short: "W" },
    call: { type: "string" },
    args: { type: "string" },
  },
  minPositionals: 2,
  maxPositionals: 64,
};

/** What emsub was asked to do. */
interface Plan {
  readonly server: ServerTarget;
  readonly names: string[];
  readonly call: string | undefined;
  readonly callArgs: JsonValue | undefined;
  readonly count: number;
  readonly timeoutMs: number;
}

/** Runs emsub; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const plan = parsePlan(args);
  if (typeof plan === "number") return plan;
  const stop = new AbortController();
  using _signals = onStopSignals(() => stop.abort("signal"));
  const limit = new TimeLimit(plan.timeoutMs);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const connected = await connectTool(spec, plan.server, {
      receive: true,
      signal: stop.signal,
      limit,
    });
    if (typeof connected === "number") return connected;
    await using client = connected;
    if (plan.timeoutMs >= 0) {
      timer = setTimeout(() => stop.abort("timeout"), limit.leftMs());
    }
    return await subscribeAndPrint(client, plan, stop.signal);
  } catch (error) {
    if (stop.signal.aborted && error === stop.signal.reason) {
      return finish(stop.signal.reason, plan.timeoutMs);
    }
    return reportFailure(spec.name, error);
  } finally {
    clearTimeout(timer);
  }
}

async function subscribeAndPrint(
  client: EmClient,
  plan: Plan,
  signal: AbortSignal,
): Promise<number> {
  const events = client.events(undefined, { signal }); // open before any event can arrive
  await subscribe(client, plan.names, signal);
  if (plan.call !== undefined) {
    await untilAborted(client.call(plan.call, plan.callArgs), signal);
  }
  return await print(events, plan.names, plan.count);
}

function parsePlan(args: string[]): Plan | number {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const server = parseServer(spec, parsed);
  if (typeof server === "number") return server;
  const { values, positionals: [, , ...names] } = parsed;
  const bad = names.find((name) => !isValidPattern(name));
  if (bad !== undefined) return usageError(spec, `invalid name "${bad}"`);
  const call = values.call as string | undefined;
  if (names.length === 0 && call === undefined) {
    return usageError(spec, "give at least one name, or --call");
  }
  if (call !== undefined && !/^[A-Za-z0-9_-]+\/[A-Za-z0-9_.-]+$/.test(call)) {
    return usageError(spec, `invalid verb "${call}": use api/verb`);
  }
  let callArgs: JsonValue | undefined;
  try {
    const text = values.args as string | undefined;
    callArgs = text === undefined ? undefined : JSON.parse(text);
  } catch (error) {
    return usageError(spec, `invalid --args JSON: ${(error as Error).message}`);
  }
  const count = values.c === undefined ? -1 : Number(values.c);
  if (!(count === -1 || (Number.isInteger(count) && count > 0))) {
    return usageError(spec, `invalid -c "${values.c}": use a positive count`);
  }
  const timeoutMs = parseTimeout(values.W);
  if (timeoutMs === undefined) {
    return usageError(spec, `invalid -W "${values.W}": use milliseconds`);
  }
  return { server, names, call, callArgs, count, timeoutMs };
}

async function subscribe(
  client: EmClient,
  names: string[],
  signal: AbortSignal,
): Promise<void> {
  for (const name of names) {
    const subscription = client.subscribe(name, { signal });
    await subscription.ready;
    (async () => { // events are printed from one merged stream; this one is only drained
      for await (const _ of subscription) { /* drained */ }
    })().catch(() => {});
  }
}

async function print(
  events: AsyncIterable<DataEvent>,
  names: string[],
  count: number,
): Promise<number> {
  const matchers = names.map(compilePattern);
  let printed = 0;
  for await (const { name, data } of events) {
    if (matchers.length > 0 && !matchers.some((matches) => matches(name))) {
      continue;
    }
    const time = new Date().toISOString();
    out(JSON.stringify({ name, data: data ?? null, time }));
    if (++printed === count) return EXIT.OK;
  }
  throw new EmError("closed", "Connection closed");
}

function finish(reason: unknown, timeoutMs: number): number {
  if (reason === "timeout") {
    err(`emsub: timeout after ${timeoutMs} ms`);
    return EXIT.TIMEOUT;
  }
  return EXIT.OK;
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() =>
      signal.removeEventListener("abort", onAbort)
    );
  });
}
