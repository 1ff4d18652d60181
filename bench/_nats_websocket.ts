/**
 * Debian's nats-server with a WebSocket listener without TLS, for the websocket workload
 * (bench/websocket_bench.ts): its ports are the ones it chose and said it bound.
 * @module
 */
import { reap } from "./_deadline.ts";
import { spawnLogged } from "./_process_log.ts";

/** A running nats-server with a WebSocket listener. */
export interface Nats {
  readonly port: number;
  readonly wsPort: number;
  stop(): Promise<void>;
}

/** Starts nats-server on ports of its choosing (-1); resolves once it says it listens on both. */
export async function startNats(): Promise<Nats> {
  const dir = await Deno.makeTempDir({ prefix: "em_bench_nats_" });
  const config = `${dir}/nats.conf`;
  await Deno.writeTextFile(
    config,
    `host: 127.0.0.1\nport: -1\nmax_pending: 1GB\nwebsocket {\n  host: 127.0.0.1\n  port: -1\n  no_tls: true\n}\n`,
  );
  const { child, log } = spawnLogged("nats-server", ["-c", config]);
  const stop = async () => {
    await reap(child, 5_000, "SIGTERM");
    await log.ended;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const port = async (pattern: RegExp) =>
      Number((await log.match(pattern, "nats-server listening", 5_000))[1]);
    return {
      wsPort: await port(/websocket clients on ws:\/\/127\.0\.0\.1:(\d+)/),
      port: await port(/client connections on 127\.0\.0\.1:(\d+)/),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
