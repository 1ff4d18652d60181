/**
 * One clustered emd for the cluster workload's batching A/B, with the library's options (the CLI
 * has no switch for batching): `deno run -A bench/_cluster_node.ts NATS_URL NAME on|off`. Prints
 * `listening on 127.0.0.1:PORT`, stops on SIGTERM. Not meant to be run by hand.
 * @module
 */
import { startServer } from "../mod.ts";

const [url = "", name = "bench", batch = "on"] = Deno.args;
const server = await startServer({
  port: 0,
  name,
  cluster: { servers: [url], batch: batch !== "off" },
});
Deno.addSignalListener("SIGTERM", () => void server.close("signal"));
Deno.stdout.writeSync(
  new TextEncoder().encode(`listening on 127.0.0.1:${server.addr.port}\n`),
);
await server.finished;
Deno.exit(0);
