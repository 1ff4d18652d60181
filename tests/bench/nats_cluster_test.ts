// The tests' NATS cluster (bench/_nats_cluster.ts): nodes listen on ports nats-server chose, and a
// node started again on a port another process took fails at once, saying why.
import assert from "node:assert/strict";
import { hasNatsServer, startNatsCluster } from "../../bench/_nats_cluster.ts";

Deno.test({
  name:
    "nats cluster: a node started again on a port taken meanwhile fails at once with nats-server's reason",
  ignore: !hasNatsServer(),
  async fn() {
    await using nats = await startNatsCluster();
    assert.equal(new Set(nats.ports).size, 3);
    await nats.kill(0);
    using _thief = Deno.listen({ hostname: "127.0.0.1", port: nats.ports[0]! });
    const started = Date.now();
    await assert.rejects(
      nats.start(0),
      /n1 listening: ended without saying so: .*address already in use/s,
    );
    assert.ok(Date.now() - started < 10_000, "not after the 20 s health wait");
  },
});
