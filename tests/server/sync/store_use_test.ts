// How the sync feature uses its store: state is loaded at start (expired leases dropped), every
// change is written before it is acknowledged, and a store that fails changes nothing.
import assert from "node:assert/strict";
import { EmError } from "../../../protocol/mod.ts";
import { startServer } from "../../../server/mod.ts";
import {
  type LeaseRecord,
  memoryStore,
  type SyncStore,
} from "../../../server/sync/store.ts";
import { ask, syncPeer, tokenOf } from "./_peers.ts";

/** A memory store whose calls throw EmError "storage" while `failing` is set. */
function flakyStore(): SyncStore & { failing: boolean } {
  const inner = memoryStore();
  const store = { failing: false } as SyncStore & { failing: boolean };
  for (
    const method of [
      "loadLatches",
      "setLatch",
      "clearLatch",
      "loadLeases",
      "putLease",
      "deleteLease",
    ] as const
  ) {
    Object.assign(store, {
      [method]: (arg: never) => {
        if (store.failing) {
          throw new EmError("storage", `Cannot write sync state: ${method}`);
        }
        return (inner[method] as (arg: never) => unknown)(arg);
      },
    });
  }
  store.close = () => inner.close();
  return store;
}

const lease = (name: string, token: string, expiresAtMs: number) => ({
  name,
  token,
  permits: 1,
  count: 1,
  expiresAtMs,
} satisfies LeaseRecord);

Deno.test("sync: a store that cannot be read stops the start with its error", async () => {
  const store = flakyStore();
  store.failing = true;
  await assert.rejects(
    startServer({ port: 0, name: "t", syncStore: store }),
    (error: unknown) => {
      assert.ok(error instanceof EmError);
      assert.equal(error.code, "storage");
      assert.equal(error.message, "Cannot write sync state: loadLatches");
      return true;
    },
  );
  store.close();
});

Deno.test("sync: leases that expired while the server was down are dropped and deleted at start", async () => {
  const store = memoryStore();
  const now = Date.now();
  store.putLease(lease("gone", "expired", now - 1));
  store.putLease(lease("kept", "alive", now + 600_000));
  {
    await using server = await startServer({
      port: 0,
      name: "t",
      syncStore: store,
    });
    assert.deepEqual(store.loadLeases(), [
      lease("kept", "alive", now + 600_000),
    ]);
    await using peer = await syncPeer(server.addr.port);
    tokenOf((await ask(peer, "k1,gone,1,1"))[0]); // free: the expired lease held nothing
    assert.deepEqual(await ask(peer, "k2,kept,1,1"), []); // queued behind the live lease
  }
  store.close();
});

Deno.test("sync: a change the store cannot write is answered with an error and changes nothing", async () => {
  const store = flakyStore();
  await using server = await startServer({
    port: 0,
    name: "t",
    syncStore: store,
  });
  await using peer = await syncPeer(server.addr.port, true);
  await using other = await syncPeer(server.addr.port);
  const token = tokenOf((await ask(peer, "k1,held,1,1,600000"))[0]);
  assert.deepEqual(await ask(peer, "l2,was_latched"), ["Twas_latched", "o2"]);
  store.failing = true;
  const failed = (line: string | undefined, id: number) =>
    assert.match(
      line ?? "",
      new RegExp(`^estorage,Cannot write sync state: \\w+,${id}$`),
    );
  const latch = await ask(peer, "l3,never");
  assert.equal(
    latch.length,
    1,
    `a T was sent for a latch not stored: ${latch}`,
  );
  failed(latch[0], 3);
  failed((await ask(peer, "z4,was_latched"))[0], 4);
  failed((await ask(peer, "k5,other,1,1,600000"))[0], 5);
  failed((await ask(peer, `v6,held,${token}`))[0], 6);
  failed((await ask(peer, `m7,held,${token},1`))[0], 7);
  store.failing = false;
  assert.deepEqual(await ask(peer, "w8,never"), ["o8"]);
  assert.deepEqual(await ask(peer, "w9,was_latched"), ["y9,was_latched"]);
  tokenOf((await ask(other, "k10,other,1,1"))[0]); // the failed lease took nothing
  assert.deepEqual(await ask(other, "k11,held,1,1"), []); // the failed release freed nothing
  assert.deepEqual(store.loadLeases().map((l) => l.token), [token]);
  assert.ok(store.loadLeases()[0]!.expiresAtMs > Date.now() + 500_000);
  store.close();
});
