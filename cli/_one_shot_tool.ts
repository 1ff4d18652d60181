/**
 * Connecting emtrigger and emwait with the one-shot client (client/one_shot.ts): a fresh process
 * loads and compiles far less than with `connect()`'s client.
 * @module
 */
import { connectOneShot, type OneShotClient } from "../client/one_shot.ts";
import {
  reportFailure,
  type ServerTarget,
  type TimeLimit,
  type ToolSpec,
} from "./_tool.ts";

/**
 * Connects a one-shot tool to its one server (a server list needs the library client:
 * `connectTool`). Any failure to connect prints one stderr line and gives exit code 1, as
 * `connectTool` does.
 */
export async function connectOneShotTool(
  spec: ToolSpec,
  server: ServerTarget,
  options: {
    readonly receive?: boolean;
    readonly limit?: TimeLimit;
    readonly wait?: readonly string[];
  } = {},
): Promise<OneShotClient | number> {
  const { receive = false, limit, wait } = options;
  try {
    return await connectOneShot({
      hostname: server.hostname ?? "127.0.0.1",
      port: server.port,
      connectTimeoutMs: limit?.connectTimeoutMs(server) ??
        server.connectTimeoutMs,
      appName: spec.name,
      receive,
      ...(wait === undefined ? {} : { wait }),
      ...(server.secret === undefined ? {} : { secret: server.secret }),
      ...(server.tls === undefined ? {} : { tls: server.tls }),
    });
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}
