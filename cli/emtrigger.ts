import { connect } from "../client/mod.ts";
import {
  isValidExtendedName,
  isValidName,
  type JsonValue,
} from "../protocol/mod.ts";
import {
  EXIT,
  out,
  parsePort,
  parseTool,
  reportFailure,
  type ToolSpec,
  usageError,
} from "./_tool.ts";

/** emtrigger's command line. */
export const spec: ToolSpec = {
  name: "emtrigger",
  usage: "[--data JSON] hostname port ev_name",
  help:
    `Triggers ev_name on the em server at hostname:port, waking every waiter.
The trigger has reached the server before emtrigger exits.

With --data JSON (protocol 1.2), the event carries JSON data, ev_name may also
contain "/", "-" and "." (door/front-open), and emtrigger prints how many
connections and agents received it.

Exit 0: sent. Exit 1: server unreachable, refused or lost. Exit 64: bad arguments.`,
  options: { data: { type: "string" } },
  minPositionals: 3,
  maxPositionals: 3,
};

/** Runs emtrigger; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const [hostname, portText, name] = parsed.positionals as [
    string,
    string,
    string,
  ];
  const port = parsePort(portText);
  if (port === undefined) return usageError(spec, `invalid port "${portText}"`);
  if (parsed.values.data !== undefined) {
    return await triggerData(
      hostname,
      port,
      name,
      parsed.values.data as string,
    );
  }
  if (!isValidName(name)) {
    return usageError(spec, `invalid event name "${name}": use [A-Za-z0-9_]+`);
  }
  try {
    await using client = await connect({
      hostname,
      port,
      appName: "emtrigger",
    });
    await client.trigger(name);
    await client.flush({ timeoutMs: 10_000 }); // the server has processed it, not just received it
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}

async function triggerData(
  hostname: string,
  port: number,
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
  try {
    await using client = await connect({
      hostname,
      port,
      appName: "emtrigger",
    });
    out(String(await client.trigger(name, data)));
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}
