import type { OneShotClient } from "../client/one_shot.ts";
import {
  checkName,
  CLIENT_OPTIONS,
  EXIT,
  out,
  parseServer,
  parseTool,
  reportFailure,
  type ServerTarget,
  TimeLimit,
  type ToolSpec,
  usageError,
} from "./_tool.ts";
import { connectOneShotTool } from "./_one_shot_tool.ts";
import { READY_FILE_OPTION, ReadyFile } from "./_ready_file.ts";

/** emwait's command line. */
export const spec: ToolSpec = {
  name: "emwait",
  usage:
    "[--print] [--ready-file PATH] hostname port ev_name[,ev_name…] ms_timeout",
  help:
    `Waits until ev_name is triggered on the em server at hostname:port, or finds
it latched (emtrigger --latch). ms_timeout is in milliseconds (0: only a latched
event); -1 waits forever.

Several names, separated by commas (build_done,build_failed), wait for whichever
comes first and print its name on stdout. One name prints nothing, as in EM 1.1,
unless --print is given.

--ready-file PATH   write emwait's process ID to PATH once the server has
                    confirmed the wait: a trigger sent after PATH appears is never
                    missed. PATH may be a FIFO (mkfifo) the script reads.

ms_timeout counts from emwait's start: connecting and the hellos take from it
(--connect-timeout, below, bounds them on their own).

Exit 0: triggered or latched. Exit 2: timed out (prints "timeout" on stdout).
Exit 1: server unreachable, refused, silent (no hello in time) or lost, or PATH
not writable.
Exit 64: bad arguments.`,
  options: {
    ...CLIENT_OPTIONS,
    print: { type: "boolean" },
    ...READY_FILE_OPTION,
  },
  minPositionals: 4,
  maxPositionals: 4,
};

/** What one emwait run waits for. */
interface WaitPlan {
  readonly server: ServerTarget;
  readonly names: readonly string[];
  readonly limit: TimeLimit;
  readonly print: boolean;
  readonly readyFile: ReadyFile;
}

/** How a run connects: the one-shot client, or the library client for a server list. */
type Connector = (
  spec: ToolSpec,
  server: ServerTarget,
  options: { receive: boolean; limit: TimeLimit; wait?: readonly string[] },
) => Promise<OneShotClient | number>;

/** Runs emwait; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const plan = planOf(args);
  if (typeof plan === "number") return plan;
  const connect = plan.server.servers === undefined
    ? connectOneShotTool
    : (await import("./_connect_tool.ts")).connectTool; // failover
  return await waitWith(plan, connect);
}

/**
 * emwait without the library client, as cli/em_bundle.js carries it: the exit code, or undefined
 * (having printed nothing) for a server list (failover), which needs that client. cli/em_bundle.js then
 * runs this file from its source.
 */
export async function runOneShot(args: string[]): Promise<number | undefined> {
  const plan = planOf(args);
  if (typeof plan === "number") return plan;
  if (plan.server.servers !== undefined) return undefined;
  return await waitWith(plan, connectOneShotTool);
}

/** Reads and checks the command line: the plan, or the exit code after printing why. */
function planOf(args: string[]): WaitPlan | number {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const server = parseServer(spec, parsed);
  if (typeof server === "number") return server;
  const [list, timeoutText] = parsed.positionals.slice(2) as [string, string];
  const names = list.split(",");
  for (const name of names) {
    const badName = checkName(spec, name);
    if (badName !== undefined) return badName;
  }
  if (!/^(-1|\d{1,10})$/.test(timeoutText)) {
    return usageError(
      spec,
      `invalid ms_timeout "${timeoutText}": use milliseconds or -1`,
    );
  }
  return {
    server,
    names: [...new Set(names)],
    limit: new TimeLimit(Number(timeoutText)), // connecting counts too
    print: names.length > 1 || parsed.values.print === true,
    readyFile: new ReadyFile(parsed.values["ready-file"] as string | undefined),
  };
}

async function waitWith(plan: WaitPlan, connect: Connector): Promise<number> {
  try {
    const connected = await connect(spec, plan.server, {
      receive: true,
      limit: plan.limit,
      wait: plan.names, // the one-shot client asks with its hello
    });
    if (typeof connected === "number") return connected;
    await using client = connected;
    const fired = await waitFor(client, plan);
    if (fired === null) {
      out("timeout");
      return EXIT.TIMEOUT;
    }
    if (plan.print) out(fired);
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  } finally {
    await plan.readyFile.end(); // a script reading a FIFO gets its end rather than hanging
  }
}

/** The name that fired (or was latched), or null on timeout; the ready file is written once. */
async function waitFor(
  client: OneShotClient,
  plan: WaitPlan,
): Promise<string | null> {
  const ready = Promise.withResolvers<void>();
  // the timeout never ends the wait before the server answered: 0 still finds a latched name
  const fired = client.waitAny(plan.names, plan.limit.leftMs(), {
    onReady: ready.resolve,
  });
  if (plan.readyFile.path === undefined) return await fired;
  const first = await Promise.race([
    ready.promise.then(() => true),
    fired.then((name) => name !== null, () => false),
  ]);
  if (first) await plan.readyFile.write(); // subscribed, or already woken
  return await fired;
}
