/**
 * Counters of clustered nodes over a real 3-node nats-server cluster (started once for this file):
 * a trigger counts as a trigger only on the node it was sent to (deliveries on every node), agent
 * pushes and broadcasts can be counted over every node, and the link's own figures (connected,
 * reconnects, deliveries in and out) reach `/metrics` in a form `promtool` accepts.
 */
import assert from "node:assert/strict";
import {
  connect,
  defineAgent,
  type EmServer,
  startServer,
} from "../../../mod.ts";
import type { EmClient as Client } from "../../../client/mod.ts";
import type { AgentContext } from "../../../server/mod.ts";
import { renderPrometheus } from "../../../server/metrics/prometheus.ts";
import {
  hasNatsServer,
  type NatsCluster,
  startNatsCluster,
} from "../../../bench/_nats_cluster.ts";
import { clusterNode } from "../../_helpers/cluster.ts";
import { promtool, until } from "../../_helpers/prometheus.ts";

const ignore = !hasNatsServer();
const hasPromtool = (() => {
  try {
    return new Deno.Command("promtool", { args: ["--version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

const node = (
  nats: NatsCluster,
  index: number,
  onInit?: (ctx: AgentContext) => void,
) =>
  clusterNode(nats, index, {
    name: "cc",
    nodeId: `n${index}`,
    agents: onInit === undefined
      ? []
      : [defineAgent({ api: "news", init: onInit, verbs: {} })],
  });

Deno.test({
  name:
    "cluster counters: triggers count once, counted pushes cover every node, the link's metrics",
  ignore,
  sanitizeOps: true,
  sanitizeResources: true,
}, async (t) => {
  await using nats = await startNatsCluster();
  let news!: AgentContext;
  await using a = await node(nats, 0, (ctx) => void (news = ctx));
  await using b = await node(nats, 1);
  await using c = await node(nats, 2);
  const servers = [a, b, c];
  const clients: Client[] = [];
  const open = async (server: EmServer) => {
    const client = await connect({ port: server.addr.port, receive: true });
    clients.push(client);
    await client.flush();
    return client;
  };
  try {
    const receivers = [await open(a), await open(b), await open(c)];
    const sender = await open(a);
    await until( // every node knows the others
      async () => await sender.trigger("formed", 1) === 4,
      "4 receivers counted over the cluster",
    );

    await t.step(
      "a bucket the cluster cannot hold stops a node's start with JetStream's reason",
      async () => {
        await assert.rejects(
          startServer({
            port: 0,
            name: "r5",
            cluster: {
              servers: [`nats://127.0.0.1:${nats.ports[0]}`],
              replicas: 5, // 3 JetStream servers
              openTimeoutMs: 300, // it would not get better
            },
          }),
          /^EmError: Cannot join the cluster at "nats:\/\/127\.0\.0\.1:\d+": cannot open its JetStream bucket: no suitable peers for placement$/,
        );
      },
    );

    await t.step(
      "a trigger is a trigger on its own node only; deliveries everywhere",
      async () => {
        const before = servers.map((s) => s.stats().traffic);
        const got = receivers.map((r) => r.next("counted_once"));
        await sender.trigger("counted_once"); // 1.1 T
        await Promise.all(got);
        assert.equal(await sender.trigger("data_once", { x: 1 }), 4); // 1.2 t
        await Promise.all(receivers.map((r) => r.next("data_once")));
        const after = servers.map((s) => s.stats().traffic);
        assert.deepEqual(
          after.map((traffic, i) => traffic.triggers - before[i]!.triggers),
          [2, 0, 0],
        );
        assert.deepEqual( // a: 2 receivers (incl. the sender) × 2; b and c: 1 × 2
          after.map((traffic, i) => traffic.deliveries - before[i]!.deliveries),
          [4, 2, 2],
        );
      },
    );

    await t.step(
      "an agent's counted push and broadcast count every node",
      async () => {
        const subs = await Promise.all(
          receivers.slice(1).map(async (r) => {
            const sub = r.subscribe("news/*");
            await sub.ready;
            return sub;
          }),
        );
        const event = news.makeEvent("flash");
        assert.equal(event.push("local only"), 0); // nobody on node a subscribed
        assert.equal(await event.pushCounted("everywhere"), 2);
        assert.equal(await event.broadcastCounted("all"), 4); // every 1.2 receiver
        await Promise.all(subs.map((sub) => sub.unsubscribe()));
      },
    );

    await t.step(
      "the link's figures: connected, deliveries in and out, in /metrics",
      async () => {
        const [la, lb] = [a.stats().cluster!, b.stats().cluster!];
        assert.equal(la.connected, true);
        assert.ok(la.deliveriesOut >= 4, JSON.stringify(la));
        assert.ok(lb.deliveriesIn >= 4, JSON.stringify(lb));
        const text = renderPrometheus(a.stats());
        assert.match(text, /^em_cluster_connected 1$/m);
        assert.match(text, /^em_cluster_reconnects_total \d+$/m);
        assert.match(text, /^em_cluster_deliveries_out_total \d+$/m);
        assert.match(text, /^em_cluster_deliveries_in_total \d+$/m);
        if (hasPromtool) {
          const check = await promtool(text);
          assert.equal(check.code, 0, check.output);
        }
      },
    );

    await t.step("losing its NATS server: a reconnect is counted", async () => {
      await nats.kill(2);
      await until(
        () =>
          c.stats().cluster!.reconnects >= 1 && c.stats().cluster!.connected,
        "node c to reconnect to another NATS server",
      );
      assert.match(
        renderPrometheus(c.stats()),
        /^em_cluster_reconnects_total [1-9]\d*$/m,
      );
    });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
});
