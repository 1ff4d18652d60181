import { connect } from "../client/mod.ts";
import {
  checkName,
  CLIENT_OPTIONS,
  EXIT,
  parseServer,
  parseTool,
  reportFailure,
  type ToolSpec,
} from "./_tool.ts";

/** emquit's command line. */
export const spec: ToolSpec = {
  name: "emquit",
  usage: "hostname port serv_name",
  help:
    `Asks the em server at hostname:port to quit. It quits only if serv_name is its
name; otherwise it logs the refusal and goes on.

Exit 0: sent. Exit 1: server unreachable, refused or lost. Exit 64: bad arguments.`,
  options: { ...CLIENT_OPTIONS },
  minPositionals: 3,
  maxPositionals: 3,
};

/** Runs emquit; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const server = parseServer(spec, parsed);
  if (typeof server === "number") return server;
  const name = parsed.positionals[2]!;
  const badName = checkName(spec, name, "server name");
  if (badName !== undefined) return badName;
  try {
    await using client = await connect({ ...server, appName: "emquit" });
    await client.quit(name);
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}
