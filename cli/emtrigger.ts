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

/** Runs emtrigger; returns the exit code. */
export async function run(args: string[]): Promise<number> {
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
    return await triggerData(server, name, parsed.values.data as string);
  }
  const badName = checkName(spec, name);
  if (badName !== undefined) return badName;
  if (parsed.values.latch || parsed.values.reset) {
    return await latchOrReset(server, name, parsed.values.latch === true);
  }
  const connected = await connectOneShotTool(spec, server);
  if (typeof connected === "number") return connected;
  try {
    await using client = connected;
    await client.trigger(name);
    // the server has processed it, not just received it
    await client.flush({ timeoutMs: server.connectTimeoutMs });
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}

/** `--latch` and `--reset`: sync requests, through the library client. */
async function latchOrReset(
  server: ServerTarget,
  name: string,
  latch: boolean,
): Promise<number> {
  const { connectTool } = await import("./_connect_tool.ts");
  const connected = await connectTool(spec, server);
  if (typeof connected === "number") return connected;
  try {
    await using client = connected;
    if (latch) await client.trigger(name, { latch: true });
    else await client.reset(name);
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}

async function triggerData(
  server: ServerTarget,
  name: string,
  json: string,
): Promise<number> {
  if (!isValidExtendedName(name)) {
    return usageError(
      spec,
      `invalid event name "${name}": use [A-Za-z0-9_./-]`,
    );
  }
  let data: JsonValue;
  try {
    data = JSON.parse(json);
  } catch (error) {
    return usageError(spec, `invalid --data JSON: ${(error as Error).message}`);
  }
  const { connectTool } = await import("./_connect_tool.ts");
  const connected = await connectTool(spec, server);
  if (typeof connected === "number") return connected;
  try {
    await using client = connected;
    out(String(await client.trigger(name, data)));
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}
