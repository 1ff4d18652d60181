/**
 * Connecting a client tool with the library client (`connect()`): every tool but the one-shot
 * paths of emtrigger and emwait (cli/_one_shot_tool.ts), which load less.
 * @module
 */
import { connect, type EmClient } from "../client/mod.ts";
import {
  reportFailure,
  type ServerTarget,
  type TimeLimit,
  type ToolSpec,
} from "./_tool.ts";

/** How a client tool connects besides its server. */
export interface ToolConnectOptions {
  /** Receive triggers. */
  readonly receive?: boolean;
  /** Cancels the connect (the caller handles `signal.reason`). */
  readonly signal?: AbortSignal;
  /** The tool's own time limit, which bounds connecting and the hellos too. */
  readonly limit?: TimeLimit;
}

/**
 * Connects a client tool to its server. Any failure to connect (unreachable, refused, no hello
 * in time) prints one stderr line and gives exit code 1; an abort by `signal` rethrows its reason.
 */
export async function connectTool(
  spec: ToolSpec,
  server: ServerTarget,
  options: ToolConnectOptions = {},
): Promise<EmClient | number> {
  const { receive = false, signal, limit } = options;
  try {
    return await connect({
      ...server,
      ...(server.servers === undefined ? {} : { port: undefined }), // failover over the list
      connectTimeoutMs: limit?.connectTimeoutMs(server) ??
        server.connectTimeoutMs,
      appName: spec.name,
      receive,
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    return reportFailure(spec.name, error);
  }
}
