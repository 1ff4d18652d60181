/**
 * Cluster-wide holds with real emd processes over a real 3-node nats-server cluster: `kill -9` of
 * a holder process (emlock) hands the lock to a client of another node at once; `kill -9` of a
 * whole emd node releases its clients' holds and queue entries within the documented bound (3.5
 * heartbeats of 1 s and one sweep: ≈ 4 s, asserted under 8 s) while a lease taken through it stays.
 */
import assert from "node:assert/strict";
import { until } from "../_helpers/until.ts";
import { join } from "node:path";
import { connect } from "../../mod.ts";
import { hasNatsServer, startNatsCluster } from "../../bench/_nats_cluster.ts";
import { clusterEmd } from "../_helpers/cluster.ts";
import { openHoldsStore } from "../_helpers/holds_store.ts";
import { holdingEmlock, POSIX, tempDir, within } from "../_helpers/sync_cli.ts";

const ignore = !hasNatsServer() || !POSIX;

Deno.test({
  name:
    "emd --cluster: kill -9 of a holder process or of a whole node releases its holds",
  ignore,
}, async (t) => {
  await using nats = await startNatsCluster();
  const emd = (i: number, nodeId: string) =>
    clusterEmd(nats, i, { name: "k", nodeId });
  await using a = await emd(0, "a");
  await using b = await emd(1, "b");
  await using c = await emd(2, "c");
  await using store = await openHoldsStore(nats.urls, "k");
  await using onB = await connect({ port: b.port });
  await using onC = await connect({ port: c.port });
  const queued = (name: string, n: number) =>
    until(
      async () => (await store.record(name))?.q.length === n,
      `${n} queued`,
    );

  await t.step(
    "kill -9 of an emlock holding through node a: node b's waiter gets the lock at once",
    async () => {
      await using dir = await tempDir();
      const ready = join(dir.path, "ready");
      await using holder = await holdingEmlock(
        ["127.0.0.1", String(a.port)],
        "job",
        ready,
      );
      await until(
        async () => (await store.record("job"))?.h.length === 1,
        "emlock's hold stored",
      );
      const waiting = onB.lock("job");
      await queued("job", 1);
      holder.child.kill("SIGKILL");
      const hold = await within(waiting, 5_000, "the lock after kill -9");
      await hold.release();
      await holder.endInput();
    },
  );

  await t.step(
    "kill -9 of node a: its holds and queue entries are released within the bound, its lease stays",
    async () => {
      await using onA = await connect({ port: a.port });
      await using onA2 = await connect({ port: a.port });
      await onA.lock("node_lock");
      const lease = await onA.lock("node_lease", { ttlMs: 120_000 });
      const queuedOnA = onA2.lock("node_lock").catch((error: Error) => error);
      await queued("node_lock", 1);
      const waiting = onB.lock("node_lock");
      await queued("node_lock", 2);
      const killedAt = performance.now();
      a.child.kill("SIGKILL");
      assert.notEqual((await a.exited()).code, 0);
      const hold = await within(waiting, 15_000, "the dead node's lock");
      const releaseMs = Math.round(performance.now() - killedAt);
      assert.ok(
        releaseMs < 8_000,
        `released ${releaseMs} ms after kill -9 (bound ≈ 4.5 s)`,
      );
      assert.ok((await queuedOnA) instanceof Error); // its connection died with node a
      await hold.release();
      await assert.rejects(
        onC.lock("node_lease", { timeoutMs: 300 }),
        /not granted within 300 ms/,
      );
      await onC.releaseLease("node_lease", lease.token);
      await (await onB.lock("node_lease")).release();
    },
  );

  await t.step(
    "a node restarted under the same --cluster-node at once releases what its earlier self held",
    async () => {
      const onC2 = await connect({ port: c.port });
      await onC2.lock("restart_lock");
      const waiting = onB.lock("restart_lock");
      await queued("restart_lock", 1);
      c.child.kill("SIGKILL");
      await c.exited();
      await onC.close();
      await onC2.close();
      await using again = await emd(2, "c"); // heard at once: the others keep taking "c" for alive
      const hold = await within(waiting, 15_000, "the earlier c's lock")
        .catch((error: Error) => {
          throw new Error(
            `${error.message}\nb: ${b.stderr()}\nc again: ${again.stderr()}`,
          );
        });
      await hold.release();
      await using onAgain = await connect({ port: again.port });
      await (await onAgain.lock("restart_lock")).release();
    },
  );
});
