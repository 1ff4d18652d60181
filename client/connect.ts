import { EmError, importSecret } from "../protocol/line_codec.ts";
import { withTimeout } from "./_deadline.ts";
import { openSocket } from "./_socket.ts";
import { Client } from "./client.ts";
import { FailoverClient } from "./failover_client.ts";
import type { ConnectOptions, EmClient } from "./em_client.ts";

export type { ConnectOptions, EmClient, ServerAddress } from "./em_client.ts";

/**
 * Connects to an em server and exchanges hellos.
 * @param options where to connect and whether to receive triggers
 * @returns the connected client
 * @throws {EmError} code "connect" when unreachable or refused (or TLS fails), "protocol" for a
 * bad hello, "auth" when authentication fails, "timeout" when connecting and the hellos take
 * longer than `connectTimeoutMs`
 * @throws {TypeError} for an empty secret, no port, or both `servers` and `port`
 */
export function connect(options: ConnectOptions): Promise<EmClient> {
  if (options.servers === undefined) return connectOne(options);
  if (options.servers.length === 0 || options.port !== undefined) {
    return Promise.reject(
      new TypeError(
        "Cannot connect: give either servers (at least one) or port, not both",
      ),
    );
  }
  return FailoverClient.open(options, connectOne);
}

/** Connects to the one server of `options.hostname` and `options.port`. */
async function connectOne(options: ConnectOptions): Promise<EmClient> {
  if (options.port === undefined) {
    throw new TypeError("Cannot connect: no port given");
  }
  const hostname = options.hostname ?? "127.0.0.1";
  const where = `${hostname}:${options.port}`;
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const startMs = performance.now();
  const key = options.secret === undefined
    ? undefined
    : await importSecret(options.secret);
  const deadline = AbortSignal.timeout(timeoutMs); // bounds the TCP connect
  let conn: Deno.Conn;
  try {
    conn = await openSocket({ hostname, port: options.port }, {
      signal: options.signal
        ? AbortSignal.any([options.signal, deadline])
        : deadline,
      ...(options.tls ? { tls: options.tls } : {}),
    });
  } catch (error) {
    if (!deadline.aborted || options.signal?.aborted) throw error;
    throw new EmError(
      "timeout",
      `Cannot connect to "${where}": no answer within ${timeoutMs} ms`,
    );
  }
  const client = new Client(conn, where, options, key);
  try {
    const leftMs = Math.max(0, timeoutMs - (performance.now() - startMs));
    await withTimeout(
      client.handshake(),
      leftMs,
      `Cannot connect to "${where}"`,
    )
      .catch((error) => {
        if (error instanceof EmError && error.code === "timeout") {
          throw new EmError(
            "timeout",
            `Cannot connect to "${where}": no answer within ${timeoutMs} ms`,
          );
        }
        throw error;
      });
  } catch (error) {
    await client.close();
    throw error;
  }
  return client;
}
