import { connect } from "../client/mod.ts";
import { isValidName } from "../protocol/mod.ts";
import {
  EXIT,
  out,
  parsePort,
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
  minPositionals: 4,
  maxPositionals: 4,
};

/** Runs emwait; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const [hostname, portText, name, timeoutText] = parsed.positionals as [
    string,
    string,
    string,
    string,
  ];
  const port = parsePort(portText);
  if (port === undefined) return usageError(spec, `invalid port "${portText}"`);
  if (!isValidName(name)) {
    return usageError(spec, `invalid event name "${name}": use [A-Za-z0-9_]+`);
  }
  if (!/^(-1|\d{1,10})$/.test(timeoutText)) {
    return usageError(
      spec,
      `invalid ms_timeout "${timeoutText}": use milliseconds or -1`,
    );
  }
  try {
    await using client = await connect({
      hostname,
      port,
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
