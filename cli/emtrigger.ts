import { connect } from "../client/mod.ts";
import { isValidName } from "../protocol/mod.ts";
import {
  EXIT,
  parsePort,
  parseTool,
  reportFailure,
  type ToolSpec,
  usageError,
} from "./_tool.ts";

/** emtrigger's command line. */
export const spec: ToolSpec = {
  name: "emtrigger",
  usage: "hostname port ev_name",
  help:
    `Triggers ev_name on the em server at hostname:port, waking every waiter.
The trigger has reached the server before emtrigger exits.

Exit 0: sent. Exit 1: server unreachable, refused or lost. Exit 64: bad arguments.`,
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
