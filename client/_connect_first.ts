// Connecting a FailoverClient (failover_client.ts) to the first of its servers that answers.
import type { ConnectOptions, EmClient, ServerAddress } from "./em_client.ts";

/** Opens one connection to one server (connect() without `servers`). */
export type ConnectOne = (options: ConnectOptions) => Promise<EmClient>;

/** Connects to the first server that answers, starting at `start` (round robin). */
export async function connectFirst(
  options: ConnectOptions,
  connectOne: ConnectOne,
  start: number,
): Promise<{ client: EmClient; index: number }> {
  const servers = options.servers!;
  let last: unknown;
  for (let i = 0; i < servers.length; i++) {
    const index = (start + i) % servers.length;
    const { hostname, port } = servers[index]!;
    try {
      const client = await connectOne({
        ...options,
        servers: undefined,
        port,
        ...(hostname === undefined ? {} : { hostname }),
      });
      return { client, index };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      last = error;
    }
  }
  throw last;
}

export function addressText(
  { hostname = "127.0.0.1", port }: ServerAddress,
): string {
  return `${hostname}:${port}`;
}
