/**
 * emd nodes as one event space over a real 3-node nats-server cluster (started once for this file):
 * triggers, data events and agent broadcasts cross nodes once each and in order, receiver counts
 * cover every live node, and the link survives the loss of one NATS server and a full restart.
 */
import assert from "node:assert/strict";
import { until } from "../../_helpers/until.ts";
import {
  type CallError,
  connect,
  defineAgent,
  type EmServer,
} from "../../../mod.ts";
import type { EmClient as Client } from "../../../client/mod.ts";
import {
  hasNatsServer,
  type NatsCluster,
  startNatsCluster,
} from "../../../bench/_nats_cluster.ts";
import { clusterNode } from "../../_helpers/cluster.ts";

const ignore = !hasNatsServer();

const node = (nats: NatsCluster, index: number) =>
  clusterNode(nats, index, {
    name: "c",
    agents: [defineAgent({
      api: `probe${index}`,
      verbs: {
        shout(req, ctx) {
          return ctx.broadcastEvent("said", req.args ?? null);
        },
      },
    })],
  });

/** Waits until a data trigger from `sender` is counted by `expected` receivers: every node knows the others. */
async function formed(sender: Client, expected: number): Promise<void> {
  await until(
    async () => await sender.trigger("formed_probe", 1) === expected,
    `${expected} receivers counted over the cluster`,
  );
}

Deno.test({
  name: "cluster: emd nodes over NATS act as one event space",
  ignore,
  sanitizeOps: true,
  sanitizeResources: true,
}, async (t) => {
  await using nats = await startNatsCluster();
  await using a = await node(nats, 0);
  await using b = await node(nats, 1);
  await using c = await node(nats, 2);
  const servers = [a, b, c];
  const clients: Client[] = [];
  const open = async (server: EmServer, receive = true) => {
    const client = await connect({ port: server.addr.port, receive });
    clients.push(client);
    await client.flush();
    return client;
  };
  try {
    const [ra, rb, rc] = [await open(a), await open(b), await open(c)];
    const sender = await open(a, false);
    await formed(sender, 3);

    await t.step("a readiness check says the node is connected", () => {
      for (const server of servers) {
        assert.equal(server.readiness.state().ready, true);
      }
    });

    await t.step(
      "latches are cluster-wide",
      async () => {
        assert.equal(sender.syncAvailable, true);
        await sender.trigger("deploy_ok", { latch: true }); // stored before the answer
        await using late = await connect({ port: c.addr.port, receive: true }); // only the store can tell it
        assert.equal(await late.waitAny(["nope", "deploy_ok"], 0), "deploy_ok");
        await sender.reset("deploy_ok");
        assert.equal(await late.waitAny(["deploy_ok"], 0), null);
      },
    );

    await t.step(
      "a 1.1 trigger on one node wakes receivers of every node once",
      async () => {
        const seen = [rb, rc, ra].map((r) => r.next("hello_all"));
        await sender.trigger("hello_all");
        assert.deepEqual(await Promise.all(seen), [true, true, true]);
        await sender.trigger("after_hello");
        for (const r of [ra, rb, rc]) {
          assert.equal(await r.next("after_hello"), true);
          assert.equal(
            await r.wait("hello_all", 0),
            false,
            "hello_all came twice",
          );
        }
      },
    );

    await t.step(
      "pipelined triggers arrive in the publisher's order on other nodes",
      async () => {
        const n = 2_000;
        const names: string[] = [];
        const stream = rc.events("seq_*");
        const done = (async () => {
          for await (const event of stream) {
            names.push(event.name);
            if (names.length === n) break;
          }
        })();
        await rc.flush();
        await Promise.all(
          Array.from({ length: n }, (_, i) => sender.trigger(`seq_${i}`)),
        );
        await done;
        assert.deepEqual(
          names,
          Array.from({ length: n }, (_, i) => `seq_${i}`),
        );
      },
    );

    await t.step(
      "a data trigger reaches subscribers of other nodes and counts every node",
      async () => {
        const sub = rb.subscribe("build/*");
        await sub.ready;
        const events = sub[Symbol.asyncIterator]();
        const plain = rc.next("formed_probe");
        // rb's subscription: "build/done" is no 1.1 name, so plain receivers get nothing
        assert.equal(await sender.trigger("build/done", { ok: true }), 1);
        const event = await events.next();
        assert.deepEqual(
          [event.value?.name, event.value?.data],
          ["build/done", { ok: true }],
        );
        assert.equal(await sender.trigger("formed_probe", 1), 3);
        assert.equal(await plain, true);
        await sub.unsubscribe();
      },
    );

    await t.step(
      "an agent's broadcast on one node reaches 1.2 receivers of the others",
      async () => {
        const sub = rc.subscribe("probe0/said");
        await sub.ready;
        const events = sub[Symbol.asyncIterator]();
        await ra.call("probe0/shout", "hi");
        const event = await events.next();
        assert.deepEqual([event.value?.name, event.value?.data], [
          "probe0/said",
          "hi",
        ]);
        await sub.unsubscribe();
      },
    );

    await t.step(
      "500 receivers over 3 nodes each get one trigger once",
      async () => {
        const many: Client[] = [];
        for (let i = 0; i < 500; i++) many.push(await open(servers[i % 3]!));
        await Promise.all(many.map((r) => r.flush()));
        const got = many.map((r) => r.next("wide"));
        await sender.trigger("wide");
        assert.deepEqual(await Promise.all(got), many.map(() => true));
        await sender.trigger("wide_end");
        await Promise.all(many.map((r) => r.next("wide_end")));
        for (const r of many) assert.equal(await r.wait("wide", 0), false);
        assert.equal(await sender.trigger("formed_probe", 1), 503);
        await Promise.all(many.map((r) => r.close()));
        many.forEach((r) => clients.splice(clients.indexOf(r), 1));
      },
    );

    await t.step(
      "losing one NATS server of three: the nodes reconnect and deliver again",
      async () => {
        await nats.kill(0);
        await until( // 2 of 3 servers: a quorum once the bucket has a leader again
          () =>
            rb.trigger("one_down", { latch: true }).then(
              () => true,
              () => false,
            ),
          "a latch with one NATS server down",
          30_000,
        );
        assert.equal(await rc.waitAny(["one_down"], 0), "one_down");
        let attempt = 0;
        await until(
          async () => {
            const name = `after_loss_${attempt++}`; // a lost one must not answer the next probe
            const probe = rb.next(name);
            await sender.trigger(name);
            return await Promise.race([
              probe,
              new Promise<false>((resolve) =>
                setTimeout(() => resolve(false), 300)
              ),
            ]);
          },
          "a trigger from the node whose NATS server died",
        );
        await nats.start(0);
      },
    );

    await t.step(
      "a full NATS restart: not ready meanwhile, clear errors, then recovery by itself",
      async () => {
        await sender.trigger("survives_restart", { latch: true });
        await Promise.all([0, 1, 2].map((i) => nats.kill(i)));
        await until(
          () => !a.readiness.state().ready,
          "node a to say it is not ready",
        );
        assert.match(
          a.readiness.state().reason,
          /not connected to the NATS cluster/,
        );
        await assert.rejects(
          sender.trigger("counted", 1),
          /not connected to the NATS cluster/,
        );
        await assert.rejects(
          sender.trigger("no_store", { latch: true }),
          /Cannot latch "no_store": not connected to the NATS cluster/,
        );
        await assert.rejects( // an agent of another node
          sender.call("probe1/shout", "x"),
          (error: CallError) =>
            error.failure === "unavailable" &&
            error.message ===
              'Cannot call "probe1/shout" on another node: not connected to the NATS cluster',
        );
        const local = ra.next("local_only");
        await sender.trigger("local_only"); // this node's receivers are still served
        assert.equal(await local, true);
        await Promise.all([0, 1, 2].map((i) => nats.start(i)));
        await until(
          () => servers.every((s) => s.readiness.state().ready),
          "every node ready again",
        );
        await formed(sender, 3);
        await using late = await connect({ port: b.addr.port, receive: true });
        let found: string | null = null;
        await until(
          async () => { // JetStream elects its leaders again after the restart
            found = await late.waitAny(["survives_restart"], 0).catch(() =>
              null
            );
            return found !== null;
          },
          "the latch taken before the restart",
          30_000,
        );
        assert.equal(found, "survives_restart");
      },
    );
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
});
