import { isValidExtendedName, type JsonValue } from "../protocol/line_codec.ts";
import {
  checkName,
  CLIENT_OPTIONS,
  EXIT,
  out,
  parseServer,
  parseTool,
  reportFailure,
  type ServerTarget,
  type ToolSpec,
  usageError,
} from "./_tool.ts";
import { connectOneShotTool } from "./_one_shot_tool.ts";

/** emtrigger's command line. */
export const spec: ToolSpec = {
  name: "emtrigger",
  usage: "[--latch | --reset | --data JSON] hostname port ev_name",
  help:
    `Triggers ev_name on the em server at hostname:port, waking every waiter.
The trigger has reached the server before emtrigger exits.

With --data JSON (protocol 1.2), the event carries JSON data, ev_name may also
contain "/", "-" and "." (door/front-open), and emtrigger prints how many
connections and agents received it.

With --latch (protocol 1.2 sync), ev_name also stays set: every later emwait for
it returns at once until "emtrigger --reset" clears it. --reset clears a latch
and triggers nothing. Both are recorded by the server before emtrigger exits.

Exit 0: sent. Exit 1: server unreachable, refused or lost. Exit 64: bad arguments.`,
  options: {
    ...CLIENT_OPTIONS,
    data: { type: "string" },
    latch: { type: "boolean" },
    reset: { type: "boolean" },
  },
  minPositionals: 3,
  maxPositionals: 3,
};

/** What one emtrigger run does, as its command line says. */
interface Plan {
  readonly server: ServerTarget;
  readonly name: string;
  readonly mode: "trigger" | "latch" | "reset" | "data";
  readonly data?: JsonValue;
}

/** Runs emtrigger; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const plan = planOf(args);
  if (typeof plan === "number") return plan;
  return await triggerOnce(plan) ?? await triggerWithLibrary(plan);
}

/**
 * emtrigger without the library client, as cli/em_bundle.js carries it: the exit code, or undefined
 * (having printed nothing) when the run needs that client: `--latch`, `--reset`, `--data` or a
 * server list (failover). cli/em_bundle.js then runs this file from its source.
 */
export async function runOneShot(args: string[]): Promise<number | undefined> {
  const plan = planOf(args);
  if (typeof plan === "number") return plan;
  return await triggerOnce(plan);
}

/** Reads and checks the command line: the plan, or the exit code after printing why. */
function planOf(args: string[]): Plan | number {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const server = parseServer(spec, parsed);
  if (typeof server === "number") return server;
  const name = parsed.positionals[2]!;
  const modes = ["data", "latch", "reset"].filter((mode) =>
    parsed.values[mode] !== undefined
  );
  if (modes.length > 1) {
    return usageError(spec, `--${modes.join(" and --")} do not go together`);
  }
  if (parsed.values.data !== undefined) {
    return dataPlan(server, name, parsed.values.data as string);
  }
  const badName = checkName(spec, name);
  if (badName !== undefined) return badName;
  const mode = parsed.values.latch
    ? "latch"
    : parsed.values.reset
    ? "reset"
    : "trigger";
  return { server, name, mode };
}

function dataPlan(
  server: ServerTarget,
  name: string,
  json: string,
): Plan | number {
  if (!isValidExtendedName(name)) {
    return usageError(
      spec,
      `invalid event name "${name}": use [A-Za-z0-9_./-]`,
    );
  }
  try {
    return { server, name, mode: "data", data: JSON.parse(json) };
  } catch (error) {
    return usageError(spec, `invalid --data JSON: ${(error as Error).message}`);
  }
}

/** A plain trigger to one server through the one-shot client; undefined for anything else. */
async function triggerOnce(plan: Plan): Promise<number | undefined> {
  if (plan.mode !== "trigger" || plan.server.servers !== undefined) {
    return undefined;
  }
  const connected = await connectOneShotTool(spec, plan.server);
  if (typeof connected === "number") return connected;
  try {
    await using client = connected;
    await client.trigger(plan.name);
    // the server has processed it, not just received it; nothing follows
    await client.flush({ timeoutMs: plan.server.connectTimeoutMs, last: true });
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}

/** Every other plan, through the library client (loaded only now). */
async function triggerWithLibrary(plan: Plan): Promise<number> {
  const { connectTool } = await import("./_connect_tool.ts");
  const connected = await connectTool(spec, plan.server);
  if (typeof connected === "number") return connected;
  const { name } = plan;
  try {
    await using client = connected;
    if (plan.mode === "latch") await client.trigger(name, { latch: true });
    else if (plan.mode === "reset") await client.reset(name);
    else if (plan.mode === "data") {
      out(String(await client.trigger(name, plan.data!)));
    } else {
      await client.trigger(name);
      await client.flush({ timeoutMs: plan.server.connectTimeoutMs });
    }
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}
