/**
 * Cluster-wide locks, semaphores, leases and barriers over a real 3-node nats-server cluster
 * (started once for this file) and 3 in-process emd nodes (heartbeat 500 ms): refusals, mutual exclusion and FIFO
 * across nodes, release on disconnect, leases, barriers, and a node cut off from NATS (clear
 * refusal, its holders told, recovery by itself, leases kept). kill -9 of emd processes and of a
 * holder process: tests/cli/emd_cluster_holds_test.ts.
 */
import assert from "node:assert/strict";
import { until } from "../../_helpers/until.ts";
import { connect, type EmServer } from "../../../mod.ts";
import type { EmClient as Client } from "../../../client/mod.ts";
import {
  hasNatsServer,
  type NatsCluster,
  startNatsCluster,
} from "../../../bench/_nats_cluster.ts";
import { clusterNode } from "../../_helpers/cluster.ts";
import { openHoldsStore } from "../../_helpers/holds_store.ts";
import { within } from "../../_helpers/sync_cli.ts";
import { connect as natsConnect } from "../../../server/delivery/_nats.ts";
import { HoldCache } from "../../../server/delivery/hold_cache.ts";
import { HoldWriter } from "../../../server/delivery/hold_writer.ts";
import { keyOf } from "../../../server/delivery/nats_latches.ts";
import type { HoldOp } from "../../../server/delivery/hold_ops.ts";
import type {
  BarrierRecord,
  SemaphoreRecord,
} from "../../../server/delivery/hold_records.ts";
import { FakeHome } from "./_fake_home.ts";

const ignore = !hasNatsServer();

const node = (nats: NatsCluster, index: number) =>
  // gone after 1.75 s unheard: a busy machine stalls a process less than that
  clusterNode(nats, index, { name: "h", heartbeatMs: 500 });

Deno.test({
  name: "cluster holds: locks, semaphores, leases, barriers across nodes",
  ignore,
}, async (t) => {
  await using nats = await startNatsCluster();
  await using a = await node(nats, 0);
  await using b = await node(nats, 1);
  await using c = await node(nats, 2);
  await using store = await openHoldsStore(nats.urls, "h");
  const clients: Client[] = [];
  const open = async (server: EmServer) => {
    const client = await connect({ port: server.addr.port });
    clients.push(client);
    return client;
  };
  const queued = (name: string, n: number) =>
    until(
      async () => (await store.record(name))?.q.length === n,
      `${n} waiting for "${name}"`,
    );
  try {
    const [ca, cb, cc] = [await open(a), await open(b), await open(c)];

    await t.step("bad requests across nodes are refused clearly", async () => {
      await using hold = await ca.semaphore("pool", 2);
      await assert.rejects(
        cb.semaphore("pool", 3),
        /Semaphore "pool" has 2 permits, not 3/,
      );
      await assert.rejects(
        cb.releaseLease("pool", hold.token),
        /"[^"]+" is neither a hold of this connection nor a lease/,
      );
      await assert.rejects(
        cc.renewLease("pool", hold.token, 1_000),
        /is bound to its connection, not a lease/,
      );
      await assert.rejects(
        cc.renewLease("pool", "nope", 1_000),
        /Cannot renew "pool": "nope" is not a lease of it/,
      );
      const early = await open(a);
      const left = early.barrier("meet", 3).catch((e: Error) => e.message);
      await until(async () => await store.arrivals("meet") === 1, "1 arrival");
      await assert.rejects(
        cb.barrier("meet", 2),
        /Barrier "meet" is for 3 parties, not 2/,
      );
      await early.close();
      assert.match(String(await left), /closed/i);
      await until(async () => await store.arrivals("meet") === 0, "0 arrivals");
    });

    await t.step(
      "a change its home wrote but never answered is written here once, not twice",
      () => answerLost(nats),
    );

    await t.step(
      "a release its home wrote but never answered is answered ok when written here again",
      () => releaseAnswerLost(nats),
    );

    await t.step(
      "an arrival that completed a round, its answer lost, gets that round's answer",
      () => arrivalAnswerLost(nats),
    );

    await t.step(
      "a lock given up while its node still sends it to the key's home is not left held",
      () => withdrawnWhileSent(nats, cb, cc),
    );

    await t.step(
      "an arrival whose round completes while its withdrawal is sent gets ok, as on one server",
      () => completedWhileWithdrawn(nats, b, cb, cc),
    );

    await t.step(
      "a lock held through node a excludes node b; waiters are served FIFO across nodes",
      async () => {
        const held = await ca.lock("L");
        const order: string[] = [];
        const cb2 = await open(b), cc2 = await open(c), ca2 = await open(a);
        const wants = [] as Promise<void>[];
        for (
          const [who, client, n] of [["b", cb2, 1], ["c", cc2, 2], [
            "a",
            ca2,
            3,
          ]] as const
        ) {
          wants.push(
            client.lock("L").then(async (hold) => {
              order.push(who);
              await hold.release();
            }),
          );
          await queued("L", n); // enters the cluster's queue before the next one asks
        }
        assert.deepEqual(order, []);
        await held.release();
        await Promise.all(wants);
        assert.deepEqual(order, ["b", "c", "a"]);
        assert.equal(await store.record("L"), undefined);
      },
    );

    await t.step("stats show the cluster's holds on every node", async () => {
      const held = await ca.lock("seen");
      const waiting = cb.lock("seen");
      await queued("seen", 1);
      const on = (server: EmServer) =>
        server.stats().sync.semaphores.find((s) => s.name === "seen");
      await until(() => on(c) !== undefined, "node c to see the lock");
      assert.deepEqual(on(c), {
        name: "seen",
        permits: 1,
        held: 1,
        holders: [{
          holder: on(c)!.holders[0]!.holder,
          count: 1,
          lease: false,
        }],
        queue: [{ peer: on(c)!.queue[0]!.peer, count: 1 }],
      });
      assert.match(on(c)!.holders[0]!.holder, /^node0#\d+$/);
      assert.match(on(c)!.queue[0]!.peer, /^node1#\d+$/);
      assert.match(on(a)!.holders[0]!.holder, /^127\.0\.0\.1:\d+$/); // its own client: by peer
      await held.release();
      await (await waiting).release();
    });

    await t.step("a holder that disconnects releases at once", async () => {
      const holder = await open(a);
      await holder.lock("D");
      const waiting = cb.lock("D");
      await queued("D", 1);
      await holder.close();
      const hold = await waiting;
      assert.equal(hold.held, true);
      await hold.release();
    });

    await t.step(
      "randomized interleaving: never two holders of one lock",
      async () => {
        const many = [] as Client[];
        for (let i = 0; i < 6; i++) many.push(await open([a, b, c][i % 3]!));
        let inside = 0, most = 0, entries = 0;
        await Promise.all(many.map(async (client, i) => {
          for (let round = 0; round < 8; round++) {
            const hold = await client.lock("X");
            inside++;
            most = Math.max(most, inside);
            entries++;
            if ((i + round) % 2 === 0) await client.flush(); // stay inside a round trip
            inside--;
            await hold.release();
          }
        }));
        assert.equal(most, 1);
        assert.equal(entries, 48);
      },
    );

    await t.step(
      "a semaphore's permits are counted over every node",
      async () => {
        const one = await ca.semaphore("S", 2);
        const two = await cb.semaphore("S", 2);
        const third = cc.semaphore("S", 2);
        await queued("S", 1);
        await one.release();
        const got = await third;
        assert.equal(got.held, true);
        await Promise.all([two.release(), got.release()]);
      },
    );

    await t.step(
      "a wait that times out leaves the cluster's queue",
      async () => {
        const held = await ca.lock("T");
        await assert.rejects(
          cb.lock("T", { timeoutMs: 100 }),
          /Cannot acquire "T": not granted within 100 ms/,
        );
        await queued("T", 0);
        await held.release();
        await (await cc.lock("T")).release();
      },
    );

    await t.step(
      "a lease outlives its connection and is released by token from another node",
      async () => {
        const taker = await open(a);
        const lease = await taker.lock("lease", { ttlMs: 60_000 });
        await taker.close();
        const waiting = cb.lock("lease");
        await queued("lease", 1);
        await cc.releaseLease("lease", lease.token);
        await (await waiting).release();
      },
    );

    await t.step("an unrenewed lease expires; its waiter gets it", async () => {
      await ca.lock("short", { ttlMs: 300 });
      const hold = await cb.lock("short", { timeoutMs: 10_000 });
      await hold.release();
    });

    await t.step(
      "a barrier opens when parties of every node arrived",
      async () => {
        const leaver = await open(a);
        const left = leaver.barrier("B", 3).catch(() => "closed");
        const first = ca.barrier("B", 3);
        await until(async () => await store.arrivals("B") === 2, "2 arrivals");
        await leaver.close(); // its arrival is withdrawn: two more are needed
        assert.equal(await left, "closed");
        await until(async () => await store.arrivals("B") === 1, "1 arrival");
        const second = cb.barrier("B", 3);
        const third = cc.barrier("B", 3);
        await within(Promise.all([first, second, third]), 10_000, "barrier B");
      },
    );
    await t.step(
      "a lease survives the loss of one NATS server of three",
      async () => {
        const lease = await ca.lock("L1", { ttlMs: 120_000 });
        await nats.kill(0); // node a's server: node a reconnects to another
        await until( // the store answers again: the lease is still held
          () =>
            cb.lock("L1", { timeoutMs: 200 }).then(
              (hold) => hold.release().then(() => false),
              (error: Error) => /not granted within/.test(error.message),
            ),
          "the store to answer with one NATS server down",
          30_000,
        );
        await until(
          () =>
            cc.releaseLease("L1", lease.token).then(() => true, () => false),
          "the lease released by token",
          30_000,
        );
        await (await cb.lock("L1")).release();
        await nats.start(0);
      },
    );

    await t.step(
      "cut off from NATS: refusals, holders told, recovery by itself, leases kept",
      async () => {
        const holder = await open(a);
        await holder.lock("F");
        const lease = await ca.lock("FL", { ttlMs: 120_000 });
        await Promise.all([0, 1, 2].map((i) => nats.kill(i)));
        await until(() => !a.readiness.state().ready, "node a not ready");
        await assert.rejects(
          ca.lock("G"),
          /Cannot acquire "G": not connected to the NATS cluster/,
        );
        await assert.rejects(
          cb.barrier("G", 2),
          /Cannot barrier "G": not connected to the NATS cluster/,
        );
        const why = await within(holder.closed, 10_000, "the holder told");
        assert.match(why.message, /can no longer vouch for your holds/);
        await Promise.all([0, 1, 2].map((i) => nats.start(i)));
        await until(
          () => [a, b, c].every((s) => s.readiness.state().ready),
          "every node ready again",
        );
        await until( // JetStream elects its leaders again after the restart
          () =>
            cb.lock("F", { timeoutMs: 1_000 }).then(
              (hold) => hold.release().then(() => true),
              () => false,
            ),
          "the fenced holder's lock free again",
          60_000,
        );
        await assert.rejects(
          cc.lock("FL", { timeoutMs: 300 }),
          /not granted within 300 ms/,
        );
        await cc.releaseLease("FL", lease.token);
        await (await cb.lock("FL")).release();
      },
    );
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
});

/** A node ("asker", a HoldWriter of its own, forward timeout 200 ms) beside a fake home node. */
interface Asker extends AsyncDisposable {
  readonly home: FakeHome;
  readonly writer: HoldWriter;
  readonly cache: HoldCache;
  /** What the asker logged. */
  readonly warnings: string[];
}

async function openAsker(
  nats: NatsCluster,
  serverName: string,
): Promise<Asker> {
  const warnings: string[] = [];
  const log = { info() {}, warn: (message: string) => warnings.push(message) };
  const home = await FakeHome.open(nats.urls, serverName);
  const nc = await natsConnect({ servers: nats.urls.split(",") });
  const cache = await HoldCache.open(nc, {
    bucket: `em_${serverName}_holds`,
    replicas: 3,
    log,
  });
  const writer = new HoldWriter(nc, cache, {
    serverName,
    nodeId: "asker",
    heartbeatMs: 500,
    log,
    forwardTimeoutMs: 200,
  });
  await until(() => writer.live(Date.now()).has("fake"), "the home heard");
  return {
    home,
    writer,
    cache,
    warnings,
    async [Symbol.asyncDispose]() {
      writer.close();
      await cache.close();
      await nc.close();
      await home[Symbol.asyncDispose]();
    },
  };
}

/**
 * Runs `op` on the asker while the key's home writes it and never answers (as if killed right
 * after its write, or its answer later than the forward timeout): the asker writes it itself.
 */
async function lostAnswer(asker: Asker, key: string, op: HoldOp) {
  const held = asker.home.holdNext(key);
  const running = asker.writer.run(key, op);
  await (await held).write(); // and never answers
  const result = await running;
  assert.match(asker.warnings.join("\n"), /did not take a hold change/);
  return result;
}

/**
 * A node sends an acquire to the key's home; the home writes it and dies before answering (a
 * kill -9 right after its write; or its answer is later than the forward timeout). The node then
 * writes the acquire itself: the record must still hold one request, not a hold and a copy of the
 * request queued behind it (which left its client waiting forever).
 */
async function answerLost(nats: NatsCluster): Promise<void> {
  await using asker = await openAsker(nats, "lost");
  const key = keyOf(asker.home.nameFor(["asker"], "s"), "s");
  const { outcome } = await lostAnswer(asker, key, {
    op: "acquire",
    wish: { name: "lost", permits: 1, count: 1 },
    who: { n: "asker/1", o: 1, w: "asker/1.1" },
    token: "t1",
  });
  assert.equal(outcome.granted, true);
  const { value } = await asker.cache.fetch(key);
  assert.deepEqual(value, {
    p: 1,
    h: [{ t: "t1", c: 1, n: "asker/1", o: 1 }],
    q: [],
  });
}

/**
 * A release the home wrote but never answered, written again by the asking node: the hold is
 * gone, so the client must hear ok, not "neither a hold of this connection nor a lease".
 */
async function releaseAnswerLost(nats: NatsCluster): Promise<void> {
  await using asker = await openAsker(nats, "lostrel");
  const name = asker.home.nameFor(["asker"], "s");
  const key = keyOf(name, "s");
  const by = { n: "asker/1", o: 1 };
  const { outcome: taken } = await asker.writer.run(key, {
    op: "acquire",
    wish: { name, permits: 1, count: 1 },
    who: { ...by, w: "asker/1.1" },
    token: "t1",
  });
  assert.equal(taken.granted, true);
  const { outcome } = await lostAnswer(asker, key, {
    op: "release",
    name,
    token: "t1",
    by,
  });
  assert.equal(outcome.refused, undefined);
  const { value } = await asker.cache.fetch(key);
  assert.deepEqual((value as SemaphoreRecord).h, []);
}

/**
 * An arrival that completed a round, whose answer was lost, written again by the asking node: it
 * must get that round's answer, not wait as the first arrival of the next round.
 */
async function arrivalAnswerLost(nats: NatsCluster): Promise<void> {
  await using asker = await openAsker(nats, "lostarr");
  const name = asker.home.nameFor(["asker"], "b");
  const key = keyOf(name, "b");
  const arrive = (w: string): HoldOp => ({
    op: "arrive",
    name,
    parties: 2,
    arrival: { n: "asker/1", o: 1, w },
  });
  const { outcome: first } = await asker.writer.run(key, arrive("asker/1.1"));
  assert.equal(first.complete, undefined);
  const { outcome } = await lostAnswer(asker, key, arrive("asker/1.2"));
  assert.notEqual(outcome.complete, undefined);
  const { value } = await asker.cache.fetch(key);
  assert.deepEqual((value as BarrierRecord).a, []);
}

/**
 * A client gives up on a lock while its node is still sending the acquire to the key's home (a
 * slow home): the withdrawal must wait for the acquire. Answered "withdrawn" at once, the acquire
 * was written after it and granted to a request nobody waited for: the lock stayed held by the
 * client's connection, and its next lock waited behind it forever.
 */
async function withdrawnWhileSent(
  nats: NatsCluster,
  onB: Client,
  onC: Client,
): Promise<void> {
  await using home = await FakeHome.open(nats.urls, "h");
  await home.heardBy("node1");
  const name = home.nameFor(["node0", "node1", "node2"], "s");
  const held = home.holdNext(keyOf(name, "s"));
  const giveUp = new AbortController();
  const asking = onB.lock(name, { signal: giveUp.signal })
    .catch((error: Error) => error.message);
  const acquire = await held; // node b sent it; the home holds it back
  giveUp.abort(new Error("gave up"));
  await onB.flush(); // node b has the withdrawal
  await acquire.answer(); // the lock was free: granted
  assert.equal(await asking, "gave up"); // what it got too late, it released
  const hold = await onC.lock(name, { timeoutMs: 5_000 });
  await hold.release();
}

/**
 * A barrier arrival times out and its node sends the withdrawal to the key's home (a slow home);
 * meanwhile another party completes the round. Its node sees the round complete: the arrival
 * passed the barrier with the others, so its client gets ok (as on one server, where a reply that
 * raced the withdrawal is returned), not a timeout.
 */
async function completedWhileWithdrawn(
  nats: NatsCluster,
  nodeB: EmServer,
  onB: Client,
  onC: Client,
): Promise<void> {
  await using home = await FakeHome.open(nats.urls, "h");
  await home.heardBy("node1");
  const name = home.nameFor(["node0", "node1", "node2"], "b");
  const arrived = () =>
    nodeB.stats().sync.barriers.some((barrier) => barrier.name === name);
  const key = keyOf(name, "b");
  const arrival = home.holdNext(key);
  const first = onB.barrier(name, 2, { timeoutMs: 300 }).then(
    () => "passed",
    (error: Error) => error.message,
  );
  await (await arrival).answer(); // waiting
  const held = home.holdNext(key); // before node b can send the withdrawal
  await until(arrived, "node b to see the first arrival");
  const withdrawal = await held; // sent after 300 ms; held back
  assert.equal(withdrawal.op.op, "withdraw");
  await within(onC.barrier(name, 2), 5_000, "the second arrival");
  await until(() => !arrived(), "node b to see the round complete");
  await withdrawal.answer();
  assert.equal(await first, "passed");
}
