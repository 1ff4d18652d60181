import assert from "node:assert/strict";
import { startServer } from "../../../server/mod.ts";
import { ask, syncPeer, tokenOf, until } from "./_peers.ts";

Deno.test("sync: a mutex is granted to one; the next waiter gets it on release", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await syncPeer(server.addr.port);
  await using b = await syncPeer(server.addr.port);
  const token = tokenOf((await ask(a, "k1,db,1,1"))[0]);
  assert.deepEqual(await ask(b, "k1,db,1,1"), []); // queued: no answer yet
  assert.deepEqual(await ask(a, `v2,db,${token}`), ["o2"]);
  tokenOf(await b.readLine());
});

Deno.test("sync: releasing what you do not hold is refused and changes nothing", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await syncPeer(server.addr.port);
  await using b = await syncPeer(server.addr.port);
  const token = tokenOf((await ask(a, "k1,db,1,1"))[0]);
  const [other] = await ask(b, `v1,db,${token}`); // a bound hold of another connection
  assert.match(
    other!,
    /^erefused,Cannot release "db": .* is neither a hold of this connection nor a lease,1$/,
  );
  assert.match((await ask(b, "v2,db,nosuchtoken"))[0]!, /^erefused,/);
  assert.match((await ask(b, `v3,other,${token}`))[0]!, /^erefused,/);
  assert.deepEqual(await ask(b, "k4,db,1,1"), []); // still held by a
  assert.deepEqual(await ask(a, `v2,db,${token}`), ["o2"]);
  tokenOf(await b.readLine());
  assert.match((await ask(a, `v3,db,${token}`))[0]!, /^erefused,/); // twice is not held
});

Deno.test("sync: a permit count that disagrees with the holders' is refused", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await syncPeer(server.addr.port);
  const token = tokenOf((await ask(a, "k1,pool,3,1"))[0]);
  assert.deepEqual(await ask(a, "k2,pool,2,1"), [
    'erefused,Semaphore "pool" has 3 permits\\x2C not 2,2',
  ]);
  assert.match((await ask(a, "k3,pool,1,1"))[0]!, /^erefused,/); // a mutex of that name too
  await ask(a, `v4,pool,${token}`);
  tokenOf((await ask(a, "k5,pool,2,1"))[0]); // once nobody holds it, the size is free again
});

Deno.test("sync: waiters are served in order; a large request at the head blocks smaller ones", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await syncPeer(server.addr.port);
  await using b = await syncPeer(server.addr.port);
  await using c = await syncPeer(server.addr.port);
  const held = tokenOf((await ask(a, "k1,pool,3,2"))[0]);
  assert.deepEqual(await ask(b, "k1,pool,3,3"), []); // needs all three
  assert.deepEqual(await ask(c, "k1,pool,3,1"), []); // one is free, but b is first
  await ask(a, `v2,pool,${held}`);
  const bToken = tokenOf(await b.readLine());
  assert.deepEqual(await c.roundTrip(), []); // c still waits
  await ask(b, `v2,pool,${bToken}`);
  tokenOf(await c.readLine());
});

Deno.test("sync: several waiters that fit are granted together, in order", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await syncPeer(server.addr.port);
  await using b = await syncPeer(server.addr.port);
  const held = tokenOf((await ask(a, "k1,pool,2,2"))[0]);
  await ask(b, "k1,pool,2,1");
  await ask(b, "k2,pool,2,1");
  await ask(a, `v2,pool,${held}`);
  assert.match((await b.readLine())!, /^g1,/);
  assert.match((await b.readLine())!, /^g2,/);
});

Deno.test("sync: a closed connection's holds are released at once and its waits withdrawn", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const a = await syncPeer(server.addr.port);
  await using b = await syncPeer(server.addr.port);
  await using c = await syncPeer(server.addr.port);
  tokenOf((await ask(a, "k1,db,1,1"))[0]);
  await ask(b, "k1,db,1,1");
  await ask(c, "k1,db,1,1");
  a.close();
  const bToken = tokenOf(await b.readLine());
  b.close(); // b held it, and goes too
  tokenOf(await c.readLine());
  assert.notEqual(bToken, "");
});

Deno.test("sync: withdrawing a waiting acquire is echoed; the next in line moves up", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await syncPeer(server.addr.port);
  await using b = await syncPeer(server.addr.port);
  await using c = await syncPeer(server.addr.port);
  const held = tokenOf((await ask(a, "k1,pool,2,1"))[0]);
  await ask(b, "k7,pool,2,2"); // blocks c
  await ask(c, "k1,pool,2,1");
  assert.deepEqual(await ask(b, "q7"), ["q7"]);
  tokenOf(await c.readLine());
  assert.deepEqual(await ask(b, "q7"), ["q7"]); // again: nothing to withdraw, still echoed
  await ask(a, `v2,pool,${held}`);
  assert.deepEqual(await b.roundTrip(), []); // b's request is gone: no late grant
});

Deno.test("sync: a lease outlives its connection; any connection releases or renews it by token", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const a = await syncPeer(server.addr.port);
  await using b = await syncPeer(server.addr.port);
  await using c = await syncPeer(server.addr.port);
  const lease = tokenOf((await ask(a, "k1,deploy,1,1,600000"))[0]);
  a.close();
  assert.deepEqual(await ask(b, "k1,deploy,1,1"), []);
  assert.deepEqual(await ask(c, `m1,deploy,${lease},900000`), ["o1"]);
  assert.deepEqual(await b.roundTrip(), []);
  assert.deepEqual(await ask(c, `v2,deploy,${lease}`), ["o2"]);
  const bound = tokenOf(await b.readLine());
  assert.match(
    (await ask(b, `m2,deploy,${bound},1000`))[0]!,
    /^erefused,Cannot renew "deploy": .* is bound to its connection\\x2C not a lease,2$/,
  );
  assert.match(
    (await ask(c, `m3,deploy,${lease},1000`))[0]!,
    /^erefused,.*not a lease of it/,
  );
});

Deno.test("sync: an expired lease is freed and the next waiter served", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await syncPeer(server.addr.port);
  await using b = await syncPeer(server.addr.port);
  const lease = tokenOf((await ask(a, "k1,deploy,1,1,30"))[0]);
  await ask(b, "k1,deploy,1,1");
  tokenOf(await b.readLine()); // within the peer's read deadline, once 30 ms have passed
  assert.match((await ask(a, `v2,deploy,${lease}`))[0]!, /^erefused,/);
});

Deno.test("sync: a barrier releases all parties together; a wrong count is refused", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await syncPeer(server.addr.port);
  await using b = await syncPeer(server.addr.port);
  await using c = await syncPeer(server.addr.port);
  assert.deepEqual(await ask(a, "b1,start,3"), []);
  assert.deepEqual(await ask(b, "b5,start,3"), []);
  assert.deepEqual(await ask(c, "b2,start,4"), [
    'erefused,Barrier "start" is for 3 parties\\x2C not 4,2',
  ]);
  assert.deepEqual(await ask(c, "b3,start,3"), ["o3"]);
  assert.equal(await a.readLine(), "o1");
  assert.equal(await b.readLine(), "o5");
  assert.deepEqual(await ask(a, "b2,start,2"), []); // a new round starts empty
});

Deno.test("sync: a withdrawn or closed party no longer counts", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await syncPeer(server.addr.port);
  const b = await syncPeer(server.addr.port);
  await using c = await syncPeer(server.addr.port);
  await ask(a, "b1,start,2");
  assert.deepEqual(await ask(a, "q1"), ["q1"]);
  await ask(b, "b1,start,2");
  b.close();
  await until(() => server.connectionCount === 2, "the server saw b close");
  await ask(c, "b1,start,2"); // alone: neither a nor b counts any more
  assert.deepEqual(await c.roundTrip(), []);
  assert.deepEqual(await ask(a, "b2,start,2"), ["o2"]);
  assert.equal(await c.readLine(), "o1");
});

Deno.test("sync: one connection's holds, waits and arrivals are bounded; leases too", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    maxSyncPerConnection: 2,
    maxLeases: 1,
  });
  await using a = await syncPeer(server.addr.port);
  await using b = await syncPeer(server.addr.port);
  const first = tokenOf((await ask(a, "k1,x,1,1"))[0]);
  assert.deepEqual(await ask(a, "k2,x,1,1"), []); // a hold and a wait
  assert.match(
    (await ask(a, "k3,y,1,1"))[0]!,
    /^erefused,Cannot acquire "y": this connection already has 2 holds and waiting requests,3$/,
  );
  const released = await ask(a, `v4,x,${first}`); // its wait is granted: one hold left
  assert.match(released[0]!, /^g2,/);
  tokenOf((await ask(a, "k5,y,1,1"))[0]);
  assert.match((await ask(a, "k6,z,1,1"))[0]!, /^erefused,/);
  tokenOf((await ask(b, "k1,l1,1,1,60000"))[0]);
  assert.match(
    (await ask(b, "k2,l2,1,1,60000"))[0]!,
    /^erefused,Cannot acquire "l2": the server already keeps 1 leases,2$/,
  );
  assert.deepEqual(await ask(b, "b3,p,5"), []);
  assert.deepEqual(await ask(b, "b4,q,5"), []);
  assert.match(
    (await ask(b, "b5,r,5"))[0]!,
    /^erefused,.*already waits at 2 barriers,5$/,
  );
});
