import { EmError, isValidExtendedName } from "../protocol/mod.ts";
import { READY_FILE_OPTION, ReadyFile } from "./_ready_file.ts";
import {
  CLIENT_OPTIONS,
  EXIT,
  out,
  parseServer,
  parseTool,
  reportFailure,
  TimeLimit,
  type ToolSpec,
  usageError,
} from "./_tool.ts";
import { connectTool } from "./_connect_tool.ts";

/** embarrier's command line. */
export const spec: ToolSpec = {
  name: "embarrier",
  usage: "[--ready-file PATH] hostname port name parties [ms_timeout]",
  help:
    `Arrives at the barrier name on the em server at hostname:port (protocol 1.2
sync) and blocks until parties processes have arrived; then all of them exit 0
together. Every party must give the same parties. ms_timeout (default: wait
forever; -1 too) gives up: prints "timeout" on stdout, exits 2 and withdraws the
arrival. An arrival is bound to the connection: if embarrier dies, it is
withdrawn.

--ready-file PATH   write embarrier's process ID to PATH once the server has
                    counted the arrival; PATH may be a FIFO

Exit 0: every party arrived. Exit 2: timeout. Exit 1: server unreachable or
lost, no sync on the server, another parties count in use. Exit 64: bad
arguments.`,
  options: { ...CLIENT_OPTIONS, ...READY_FILE_OPTION },
  minPositionals: 4,
  maxPositionals: 5,
};

/** Runs embarrier; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const server = parseServer(spec, parsed);
  if (typeof server === "number") return server;
  const [name, partiesText, timeoutText = "-1"] = parsed.positionals.slice(
    2,
  ) as [string, string, string?];
  if (!isValidExtendedName(name)) {
    return usageError(spec, `invalid name "${name}": use [A-Za-z0-9_./-]`);
  }
  if (!/^\d{1,7}$/.test(partiesText) || !inRange(Number(partiesText))) {
    return usageError(
      spec,
      `invalid parties "${partiesText}": use a number from 1 to 1000000`,
    );
  }
  if (!/^(-1|\d{1,10})$/.test(timeoutText)) {
    return usageError(
      spec,
      `invalid ms_timeout "${timeoutText}": use milliseconds or -1`,
    );
  }
  const readyFile = new ReadyFile(parsed.values["ready-file"] as string);
  const limit = new TimeLimit(Number(timeoutText)); // connecting counts too
  try {
    const connected = await connectTool(spec, server, { limit });
    if (typeof connected === "number") return connected;
    await using client = connected;
    const passed = client.barrier(name, Number(partiesText), {
      timeoutMs: limit.leftMs(),
    });
    await readyFile.writeOnceProcessed(client, passed);
    await passed;
    return EXIT.OK;
  } catch (error) {
    if (error instanceof EmError && error.code === "timeout") {
      out("timeout");
      return EXIT.TIMEOUT;
    }
    return reportFailure(spec.name, error);
  } finally {
    await readyFile.end();
  }
}

function inRange(parties: number): boolean {
  return parties >= 1 && parties <= 1_000_000;
}
