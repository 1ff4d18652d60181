import { connect } from "../client/mod.ts";
import {
  checkName,
  CLIENT_OPTIONS,
  EXIT,
  out,
  parseServer,
  parseTool,
  reportFailure,
  type ToolSpec,
  usageError,
} from "./_tool.ts";

/** emwait's command line. */
export const spec: ToolSpec = {
  name: "emwait",
  usage: "hostname port ev_name ms_timeout",
  help: `Waits until ev_name is triggered on the em server at hostname:port.
ms_timeout is in milliseconds; -1 waits forever.

Exit 0: triggered. Exit 2: timed out (prints "timeout" on stdout).
Exit 1: server unreachable, refused or lost. Exit 64: bad arguments.`,
  options: { ...CLIENT_OPTIONS },
  minPositionals: 4,
  maxPositionals: 4,
};

/** Runs emwait; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const server = parseServer(spec, parsed);
  if (typeof server === "number") return server;
  const [name, timeoutText] = parsed.positionals.slice(2) as [string, string];
  const badName = checkName(spec, name);
  if (badName !== undefined) return badName;
  if (!/^(-1|\d{1,10})$/.test(timeoutText)) {
    return usageError(
      spec,
      `invalid ms_timeout "${timeoutText}": use milliseconds or -1`,
    );
  }
  try {
    await using client = await connect({
      ...server,
      receive: true,
      appName: "emwait",
    });
    if (await client.wait(name, Number(timeoutText))) return EXIT.OK;
    out("timeout");
    return EXIT.TIMEOUT;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}
