/**
 * What emlock and emsem share: run a command while holding a mutex or semaphore bound to the
 * connection, and the lease modes (--acquire, --release, --renew).
 */
import type { EmClient, Hold } from "../client/mod.ts";
import { EmError, isValidExtendedName } from "../protocol/mod.ts";
import { READY_FILE_OPTION, ReadyFile } from "./_ready_file.ts";
import {
  err,
  EXIT,
  out,
  type Parsed,
  parseServer,
  parseTool,
  reportFailure,
  type ServerTarget,
  TimeLimit,
  type ToolSpec,
  usageError,
} from "./_tool.ts";
import { connectTool } from "./_connect_tool.ts";

/** Runs emlock (`withPermits` false) or emsem with `args`; returns the exit code. */
export async function runHoldTool(
  spec: ToolSpec,
  args: string[],
  withPermits: boolean,
): Promise<number> {
  const [own, command] = splitCommand(args);
  // too many arguments may be a command without "--": parsePlan counts them and says which
  const parsed = parseTool({ ...spec, maxPositionals: Infinity }, own);
  if (typeof parsed === "number") return parsed;
  const server = parseServer(spec, parsed);
  if (typeof server === "number") return server;
  const plan = parsePlan(spec, parsed, command, withPermits);
  if (typeof plan === "number") return plan;
  return await runPlan(spec, server, plan);
}

/** Options of emlock and emsem besides CLIENT_OPTIONS. */
export const HOLD_OPTIONS = {
  timeout: { type: "string" },
  ttl: { type: "string" },
  acquire: { type: "boolean" },
  release: { type: "boolean" },
  renew: { type: "boolean" },
  ...READY_FILE_OPTION,
} as const;

/** The largest TTL and timeout the tools accept (the protocol's, about 24.8 days). */
const MAX_MS = 2_147_483_647;

/** One run of emlock or emsem, parsed. */
export type HoldPlan =
  | { mode: "run"; take: Take; command: string[] }
  | { mode: "acquire"; take: Take }
  | { mode: "release"; name: string; token: string }
  | { mode: "renew"; name: string; token: string; ttlMs: number };

/** What to take: `permits` permits of `name` (1: a mutex), how long to wait, a lease TTL. */
export interface Take {
  readonly name: string;
  readonly permits: number;
  readonly timeoutMs: number;
  readonly ttlMs?: number;
  readonly readyFile: ReadyFile;
}

/** Splits `args` at the first `--`: the tool's own arguments, then the command (or undefined). */
function splitCommand(
  args: string[],
): [own: string[], command: string[] | undefined] {
  const cut = args.indexOf("--");
  return cut === -1
    ? [args, undefined]
    : [args.slice(0, cut), args.slice(cut + 1)];
}

/**
 * Reads the mode and its arguments after `hostname port`: `name [permits]` for run and acquire
 * (permits only when `withPermits`), `name token` for release and renew. Returns the usage exit
 * code after printing why.
 */
function parsePlan(
  spec: ToolSpec,
  parsed: Exclude<Parsed, number>,
  command: string[] | undefined,
  withPermits: boolean,
): HoldPlan | number {
  const values = parsed.values;
  const modes = ["acquire", "release", "renew"].filter((m) => values[m]);
  if (modes.length > 1) {
    return usageError(spec, `--${modes.join(" and --")} do not go together`);
  }
  const mode = (modes[0] ?? "run") as HoldPlan["mode"];
  const rest = parsed.positionals.slice(2);
  const wanted = mode === "release" || mode === "renew" || withPermits ? 2 : 1;
  if (mode === "run" && command === undefined && rest.length > wanted) {
    return usageError(
      spec,
      `"--" is missing before the command "${rest.slice(wanted).join(" ")}"`,
    );
  }
  if (rest.length !== wanted) {
    return usageError(
      spec,
      `expected ${wanted + 2} arguments, got ${rest.length + 2}`,
    );
  }
  const name = rest[0]!;
  if (!isValidExtendedName(name)) {
    return usageError(spec, `invalid name "${name}": use [A-Za-z0-9_./-]`);
  }
  const misplaced = misplacedOption(mode, values, command);
  if (misplaced !== undefined) return usageError(spec, misplaced);
  const ttlMs = values.ttl === undefined
    ? undefined
    : parseWhole(values.ttl as string, 1);
  if (ttlMs === null) {
    return usageError(spec, `invalid --ttl "${values.ttl}": use milliseconds`);
  }
  if (mode === "release") return { mode, name, token: rest[1]! };
  if (mode === "renew") return { mode, name, token: rest[1]!, ttlMs: ttlMs! };
  return parseTake(spec, { mode, name, rest, values, command, ttlMs });
}

function parseTake(
  spec: ToolSpec,
  input: {
    mode: "run" | "acquire";
    name: string;
    rest: string[];
    values: Exclude<Parsed, number>["values"];
    command: string[] | undefined;
    ttlMs: number | undefined;
  },
): HoldPlan | number {
  const { mode, name, rest, values, command, ttlMs } = input;
  const permits = rest.length === 2 ? parseWhole(rest[1]!, 1) : 1;
  if (permits === null || permits > 1_000_000) {
    return usageError(
      spec,
      `invalid permits "${rest[1]}": use a number from 1 to 1000000`,
    );
  }
  const timeoutMs = values.timeout === undefined
    ? -1
    : parseWhole(values.timeout as string, 0);
  if (timeoutMs === null) {
    return usageError(
      spec,
      `invalid --timeout "${values.timeout}": use milliseconds`,
    );
  }
  const readyFile = new ReadyFile(values["ready-file"] as string | undefined);
  const take: Take = ttlMs === undefined
    ? { name, permits, timeoutMs, readyFile }
    : { name, permits, timeoutMs, ttlMs, readyFile };
  return mode === "run" ? { mode, take, command: command! } : { mode, take };
}

/** Why an option or the command does not belong to `mode`, if it does not. */
function misplacedOption(
  mode: HoldPlan["mode"],
  values: Exclude<Parsed, number>["values"],
  command: string[] | undefined,
): string | undefined {
  if (mode === "run") {
    if (command === undefined || command.length === 0) {
      return 'no command: give one after "--" (or --acquire for a lease)';
    }
    if (values.ttl !== undefined) {
      return "--ttl goes with --acquire or --renew (a command's hold ends with it)";
    }
    return undefined;
  }
  if (command !== undefined) return `--${mode} runs no command`;
  if ((mode === "acquire" || mode === "renew") && values.ttl === undefined) {
    return `--${mode} needs --ttl ms`;
  }
  if (mode !== "acquire" && values.timeout !== undefined) {
    return `--timeout goes with a command or --acquire, not --${mode}`;
  }
  if (mode !== "acquire" && values["ready-file"] !== undefined) {
    return `--ready-file goes with a command or --acquire, not --${mode}`;
  }
  if (mode === "release" && values.ttl !== undefined) {
    return "--release takes no --ttl";
  }
  return undefined;
}

/** A whole number from `min` up to MAX_MS (milliseconds, or permits), or null. */
function parseWhole(text: string, min: number): number | null {
  if (!/^\d{1,10}$/.test(text)) return null;
  const ms = Number(text);
  return ms >= min && ms <= MAX_MS ? ms : null;
}

/** Runs one parsed plan of `tool`; returns the exit code. */
async function runPlan(
  spec: ToolSpec,
  server: ServerTarget,
  plan: HoldPlan,
): Promise<number> {
  const tool = spec.name;
  const readyFile = "take" in plan
    ? plan.take.readyFile
    : new ReadyFile(undefined);
  const limit = new TimeLimit("take" in plan ? plan.take.timeoutMs : -1); // connecting counts
  try {
    const connected = await connectTool(spec, server, { limit });
    if (typeof connected === "number") return connected;
    await using client = connected;
    switch (plan.mode) {
      case "run":
        return await runCommand(tool, client, plan.take, plan.command, limit);
      case "acquire":
        return await acquireLease(client, plan.take, limit);
      case "release":
        await client.releaseLease(plan.name, plan.token);
        return EXIT.OK;
      case "renew":
        await client.renewLease(plan.name, plan.token, plan.ttlMs);
        return EXIT.OK;
    }
  } catch (error) {
    if (error instanceof EmError && error.code === "timeout") {
      out("timeout");
      return EXIT.TIMEOUT;
    }
    return reportFailure(tool, error);
  } finally {
    await readyFile.end();
  }
}

/** Takes the permits; the ready file is written once the server has queued (or granted) it. */
async function take(
  client: EmClient,
  take: Take,
  limit: TimeLimit,
): Promise<Hold> {
  const held = client.semaphore(take.name, take.permits, {
    timeoutMs: limit.leftMs(),
    ...(take.ttlMs === undefined ? {} : { ttlMs: take.ttlMs }),
  });
  await take.readyFile.writeOnceProcessed(client, held);
  return await held;
}

async function acquireLease(
  client: EmClient,
  lease: Take,
  limit: TimeLimit,
): Promise<number> {
  const hold = await take(client, lease, limit);
  out(hold.token); // the lease outlives this connection
  return EXIT.OK;
}

/** Runs `command` while holding; exits with its status (128+n for signal n). */
async function runCommand(
  tool: string,
  client: EmClient,
  what: Take,
  command: string[],
  limit: TimeLimit,
): Promise<number> {
  await using hold = await take(client, what, limit);
  const target: { child?: Deno.ChildProcess } = {};
  using _forwarding = forwardSignals(target); // armed first: no signal kills emlock meanwhile
  let child: Deno.ChildProcess;
  try {
    child = target.child = new Deno.Command(command[0]!, {
      args: command.slice(1),
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (error) {
    err(`${tool}: Cannot run "${command[0]}": ${(error as Error).message}`);
    return EXIT.FAILURE;
  }
  const lost = client.closed.then((reason) => reason);
  const outcome = await Promise.race([child.status, lost]);
  if (outcome instanceof EmError) {
    err(
      `${tool}: Lost "${hold.name}" (the command was stopped): ${outcome.message}`,
    );
    try {
      child.kill("SIGTERM");
    } catch { /* exited meanwhile */ }
    await child.status;
    return EXIT.FAILURE;
  }
  return outcome.code; // Deno reports a signal n as 128 + n
}

/**
 * Passes SIGINT, SIGTERM and SIGHUP on to `target.child` (not on Windows). Armed before the spawn:
 * a handler runs only after the synchronous spawn that follows, so no signal finds no child.
 */
function forwardSignals(target: { child?: Deno.ChildProcess }): Disposable {
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? []
    : ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers = signals.map((signal) => {
    const handler = (): void => {
      try {
        target.child?.kill(signal);
      } catch { /* exited meanwhile */ }
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return {
    [Symbol.dispose]() {
      for (const [signal, handler] of handlers) {
        Deno.removeSignalListener(signal, handler);
      }
    },
  };
}
