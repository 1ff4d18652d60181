import assert from "node:assert/strict";
import { startServer } from "../../../server/mod.ts";
import { captureLogs, RawPeer } from "../../_helpers/wire.ts";
import { ask, syncPeer, tokenOf } from "./_peers.ts";
import { memoryStore } from "../../../server/sync/store.ts";

Deno.test("sync: the hello announces l1; a 1.1 peer's sync requests are dropped, unanswered", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({ port: 0, name: "t" });
  await using old = await RawPeer.connect(server.addr.port);
  assert.match((await old.readLine())!, /^H1\.2;.*;l1($|;)/);
  await old.send("H1.1\n");
  assert.deepEqual(await ask(old, "l1,ev"), []);
  await logs.waitFor(/1\.2 command "l" from a 1\.1 peer/);
  await using fresh = await syncPeer(server.addr.port, true);
  assert.deepEqual(await ask(fresh, "w1,ev"), ["o1"]); // nothing was latched
});

Deno.test("sync: malformed requests are answered with a protocol error; a bad id gets nothing", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await syncPeer(server.addr.port, true);
  assert.deepEqual(await ask(peer, "l7,bad-name"), [
    'eprotocol,Bad request "l": bad event name "bad-name",7',
  ]);
  assert.deepEqual(await ask(peer, "k8,x,2,3"), [
    'eprotocol,Bad request "k": bad count "3": expected 1 to 2,8',
  ]);
  assert.deepEqual(await ask(peer, "lbad id,x"), []);
  await logs.waitFor(/bad request id "bad id" on "l"/);
  assert.deepEqual(await ask(peer, "w9,x"), ["o9"]); // the connection goes on
});

Deno.test("sync: waiting without receiving triggers is refused", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await syncPeer(server.addr.port, false);
  const [answer] = await ask(peer, "w1,ev");
  assert.match(answer!, /^erefused,Cannot wait: .*F1.*,1$/);
});

Deno.test("sync: a latch wakes every receiver with T, 1.1 ones included, and stays set until reset", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using old = await RawPeer.greeted(server.addr.port, "H1.1\nF1");
  await using waiter = await syncPeer(server.addr.port, true);
  await using sender = await syncPeer(server.addr.port);
  await old.roundTrip(); // 1.1 server-side handling is in order; a 1.2 ping is harmless
  await waiter.roundTrip();
  assert.deepEqual(await ask(sender, "l1,build_done"), ["o1"]);
  assert.equal(await old.readLine(), "Tbuild_done");
  assert.equal(await waiter.readLine(), "Tbuild_done");
  assert.deepEqual(await ask(waiter, "w2,other,build_done"), ["y2,build_done"]);
  await using late = await syncPeer(server.addr.port, true);
  assert.deepEqual(await ask(late, "w3,build_done"), ["y3,build_done"]);

  await sender.send("Tbuild_done\n"); // a plain trigger wakes and leaves the latch set
  assert.equal(await waiter.readLine(), "Tbuild_done");
  assert.deepEqual(await ask(late, "w4,build_done"), [
    "Tbuild_done",
    "y4,build_done",
  ]);

  assert.deepEqual(await ask(sender, "z5,build_done"), ["o5"]);
  assert.deepEqual(await ask(late, "w6,build_done"), ["o6"]);
  assert.deepEqual(await ask(sender, "z7,never_set"), ["o7"]); // resetting an unset name is fine
});

Deno.test("sync: of several latched names the wait answers the first in its own order", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await syncPeer(server.addr.port, true);
  await ask(peer, "l1,b");
  await ask(peer, "l2,c");
  assert.deepEqual(await ask(peer, "w3,a,c,b"), ["y3,c"]);
});

Deno.test("sync: latches and leases live in the store and outlive the server", async () => {
  const store = memoryStore();
  let token: string;
  {
    await using server = await startServer({
      port: 0,
      name: "t",
      syncStore: store,
    });
    await using peer = await syncPeer(server.addr.port, true);
    await ask(peer, "l1,ready");
    token = tokenOf((await ask(peer, "k2,deploy,1,1,600000"))[0]);
  }
  assert.deepEqual(store.loadLatches(), ["ready"]);
  await using server = await startServer({
    port: 0,
    name: "t",
    syncStore: store,
  });
  await using peer = await syncPeer(server.addr.port, true);
  assert.deepEqual(await ask(peer, "w1,ready"), ["y1,ready"]);
  assert.deepEqual(await ask(peer, "k2,deploy,1,1"), []); // the lease still holds it
  const released = await ask(peer, `v3,deploy,${token}`);
  assert.equal(released.length, 2, released.join("|"));
  tokenOf(released[0]);
  assert.equal(released[1], "o3");
  store.close();
});
