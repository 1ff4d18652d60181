/**
 * Debian's nats-server with a WebSocket listener without TLS, for the websocket workload
 * (bench/websocket_bench.ts).
 * @module
 */
import { reap } from "./_deadline.ts";

export interface Nats {
  readonly port: number;
  readonly wsPort: number;
  stop(): Promise<void>;
}

/** Starts Debian's nats-server with a WebSocket listener without TLS on free ports. */
export async function startNats(): Promise<Nats> {
  const [port, wsPort] = [freePort(), freePort()];
  const dir = await Deno.makeTempDir({ prefix: "em_bench_nats_" });
  const config = `${dir}/nats.conf`;
  await Deno.writeTextFile(
    config,
    `host: 127.0.0.1\nport: ${port}\nmax_pending: 1GB\nwebsocket {\n  host: 127.0.0.1\n  port: ${wsPort}\n  no_tls: true\n}\n`,
  );
  const child = new Deno.Command("nats-server", {
    args: ["-c", config],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0;; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port: wsPort })).close();
      break;
    } catch (error) {
      if (i > 200) {
        child.kill("SIGKILL");
        throw new Error(
          `nats-server did not listen: ${(error as Error).message}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return {
    port,
    wsPort,
    stop: async () => {
      await reap(child, 5_000, "SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
