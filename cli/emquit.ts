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

/** emquit's command line. */
export const spec: ToolSpec = {
  name: "emquit",
  usage: "hostname port serv_name",
  help:
    `Asks the em server at hostname:port to quit. It quits only if serv_name is its
name; otherwise it logs the refusal and goes on.

Exit 0: sent. Exit 1: server unreachable, refused or lost. Exit 64: bad arguments.`,
  minPositionals: 3,
  maxPositionals: 3,
};

/** Runs emquit; returns the exit code. */
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
    return usageError(spec, `invalid server name "${name}": use [A-Za-z0-9_]+`);
  }
  try {
    await using client = await connect({ hostname, port, appName: "emquit" });
    await client.quit(name);
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}
