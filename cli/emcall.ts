import { CallError, EmError, type JsonValue } from "../protocol/mod.ts";
import {
  CLIENT_OPTIONS,
  err,
  EXIT,
  out,
  parseServer,
  parseTool,
  reportFailure,
  TimeLimit,
  type ToolSpec,
  usageError,
} from "./_tool.ts";
import { connectTool } from "./_connect_tool.ts";

/** emcall's command line. */
export const spec: ToolSpec = {
  name: "emcall",
  usage: "[-W ms] hostname port api/verb [json]",
  help:
    `Calls the verb api/verb of an agent hosted by the em server at hostname:port
(protocol 1.2) with the JSON arguments json, and prints the reply's data as one
line of JSON.

Options:
  -W ms    give up after ms milliseconds from the start, connecting included
           (exit 2; a server that does not say hello in time: exit 1);
           default: wait forever

Exit 0: the verb succeeded. Exit 1: the verb failed (stderr: "emcall: CODE: MESSAGE"),
or the server is unreachable, speaks only 1.1, or was lost. Exit 2: timed out.
Exit 64: bad arguments or invalid JSON.`,
  options: { ...CLIENT_OPTIONS, W: { type: "string", short: "W" } },
  minPositionals: 3,
  maxPositionals: 4,
};

/** Runs emcall; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const server = parseServer(spec, parsed);
  if (typeof server === "number") return server;
  const [verb, json] = parsed.positionals.slice(2) as [
    string,
    string | undefined,
  ];
  if (!/^[A-Za-z0-9_-]+\/[A-Za-z0-9_.-]+$/.test(verb)) {
    return usageError(spec, `invalid verb "${verb}": use api/verb`);
  }
  let callArgs: JsonValue | undefined;
  try {
    callArgs = json === undefined ? undefined : JSON.parse(json);
  } catch (error) {
    return usageError(spec, `invalid JSON: ${(error as Error).message}`);
  }
  const timeoutMs = parseTimeout(parsed.values.W);
  if (timeoutMs === undefined) {
    return usageError(
      spec,
      `invalid -W "${parsed.values.W}": use milliseconds`,
    );
  }
  const limit = new TimeLimit(timeoutMs);
  const connected = await connectTool(spec, server, { limit });
  if (typeof connected === "number") return connected;
  try {
    await using client = connected;
    const reply = await withDeadline(
      client.call(verb, callArgs),
      limit.leftMs(),
      `No reply from "${verb}"`,
    );
    out(JSON.stringify(reply));
    return EXIT.OK;
  } catch (error) {
    if (error instanceof CallError) {
      err(`emcall: ${error.failure}: ${error.message}`);
      return EXIT.FAILURE;
    }
    if (error instanceof EmError && error.code === "timeout") {
      err(`emcall: ${error.message}`); // -W: what was asked timed out
      return EXIT.TIMEOUT;
    }
    return reportFailure(spec.name, error);
  }
}

/** Reads `-W`: milliseconds, or -1 (forever) when absent. */
export function parseTimeout(text: unknown): number | undefined {
  if (text === undefined) return -1;
  if (typeof text !== "string" || !/^\d{1,10}$/.test(text)) return undefined;
  return Number(text);
}

/** Settles like `promise`, or rejects with `EmError` "timeout" after `timeoutMs` (-1: never). */
export async function withDeadline<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  if (timeoutMs < 0) return await promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new EmError("timeout", `${what} within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
