import {
  checkName,
  CLIENT_OPTIONS,
  EXIT,
  parseServer,
  parseTool,
  reportFailure,
  type ToolSpec,
} from "./_tool.ts";
import { connectTool } from "./_connect_tool.ts";

/** emquit's command line. */
export const spec: ToolSpec = {
  name: "emquit",
  usage: "hostname port serv_name",
  help:
    `Asks the em server at hostname:port to quit. It quits only if serv_name is its
name; otherwise it logs the refusal and goes on.

A 1.2 server (emd) answers: emquit waits until it has quit (exit 0) or says why
it refused, a wrong serv_name or remote quit disabled (one stderr line, exit 1).
A 1.1 server never answers, as in EM: exit 0 means the request was sent.

Exit 0: quit (1.2) or sent (1.1). Exit 1: refused, server unreachable, silent or
lost. Exit 64: bad arguments.`,
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
  const connected = await connectTool(spec, server);
  if (typeof connected === "number") return connected;
  try {
    await using client = connected;
    await client.quit(name, { timeoutMs: server.connectTimeoutMs }); // a 1.2 server answers
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}
