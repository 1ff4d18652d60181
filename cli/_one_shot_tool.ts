/**
 * Connecting emtrigger and emwait with the one-shot client (client/one_shot.ts): a fresh process
 * loads and compiles far less than with `connect()`'s client. A server list (failover) needs the
 * library client, which is then loaded on demand.
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
 * Connects a one-shot tool to its server. Any failure to connect prints one stderr line and
 * gives exit code 1, as `connectTool` does.
 */
export async function connectOneShotTool(
  spec: ToolSpec,
  server: ServerTarget,
  options: { readonly receive?: boolean; readonly limit?: TimeLimit } = {},
): Promise<OneShotClient | number> {
  const { receive = false, limit } = options;
  if (server.servers !== undefined) { // failover: only the library client does it
    const { connectTool } = await import("./_connect_tool.ts");
    return await connectTool(spec, server, options);
  }
  try {
    return await connectOneShot({
      hostname: server.hostname ?? "127.0.0.1",
      port: server.port,
      connectTimeoutMs: limit?.connectTimeoutMs(server) ??
        server.connectTimeoutMs,
      appName: spec.name,
      receive,
      ...(server.secret === undefined ? {} : { secret: server.secret }),
      ...(server.tls === undefined ? {} : { tls: server.tls }),
    });
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}
