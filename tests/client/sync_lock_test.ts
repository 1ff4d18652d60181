import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import { startServer } from "../../server/mod.ts";
import { isEmError } from "../_helpers/em_error.ts";

Deno.test("lock: bad arguments are TypeError/RangeError before anything is sent", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await connect({ port: server.addr.port });
  await assert.rejects(client.lock("/bad"), TypeError);
  await assert.rejects(client.semaphore("s", 0), RangeError);
  await assert.rejects(client.semaphore("s", 2, { count: 3 }), RangeError);
  await assert.rejects(client.lock("s", { ttlMs: 0 }), RangeError);
  await assert.rejects(client.barrier("b", 1.5), RangeError);
});

Deno.test("lock: the next waiter gets the mutex when the holder's scope ends", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await connect({ port: server.addr.port });
  await using b = await connect({ port: server.addr.port });
  const order: string[] = [];
  let second: Promise<void>;
  {
    await using hold = await a.lock("db");
    assert.equal(hold.lease, false);
    assert.equal(hold.permits, 1);
    second = b.lock("db").then(async (hold) => {
      order.push("b");
      await hold.release();
      await hold.release(); // twice does nothing
      assert.equal(hold.held, false);
    });
    await b.flush(); // b's request is queued behind a's hold
    order.push("a");
  }
  await second;
  assert.deepEqual(order, ["a", "b"]);
});

Deno.test("lock: timeout rejects with code timeout and leaves no request behind", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await connect({ port: server.addr.port });
  await using b = await connect({ port: server.addr.port });
  const hold = await a.lock("db");
  await assert.rejects(
    b.lock("db", { timeoutMs: 20 }),
    isEmError("timeout", /^Cannot acquire "db": not granted within 20 ms$/),
  );
  await hold.release();
  await using again = await a.lock("db", { timeoutMs: 0 }); // free: b's request was withdrawn
  assert.equal(again.held, true);
});

Deno.test("lock: an abort withdraws the request and rejects with the reason", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await connect({ port: server.addr.port });
  await using b = await connect({ port: server.addr.port });
  const hold = await a.lock("db");
  const controller = new AbortController();
  const waiting = b.lock("db", { signal: controller.signal });
  await b.flush();
  controller.abort(new Error("no longer needed"));
  await assert.rejects(waiting, /no longer needed/);
  await hold.release();
  await using again = await a.lock("db", { timeoutMs: 0 });
  assert.ok(again.token.length > 0);
});

Deno.test("semaphore: permits are shared up to the size; another size is refused", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await connect({ port: server.addr.port });
  await using b = await connect({ port: server.addr.port });
  await using one = await a.semaphore("pool", 3, { count: 2 });
  await using two = await b.semaphore("pool", 3);
  assert.equal(one.count + two.count, 3);
  await assert.rejects(
    b.semaphore("pool", 3, { timeoutMs: 0 }),
    isEmError("timeout"),
  );
  await assert.rejects(
    b.semaphore("pool", 4),
    isEmError("refused", /^Semaphore "pool" has 3 permits, not 4$/),
  );
  await assert.rejects(b.lock("pool"), isEmError("refused"));
});

Deno.test("lock: a closed holder's mutex goes to the next waiter at once", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const a = await connect({ port: server.addr.port });
  await using b = await connect({ port: server.addr.port });
  const hold = await a.lock("db");
  const waiting = b.lock("db");
  await b.flush();
  await a.close();
  await using mine = await waiting;
  assert.notEqual(mine.token, hold.token);
  await hold[Symbol.asyncDispose](); // disposing a hold of a closed connection does not throw
});

Deno.test("lease: outlives its connection; released or renewed by token from another", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const a = await connect({ port: server.addr.port });
  await using b = await connect({ port: server.addr.port });
  const lease = await a.lock("deploy", { ttlMs: 600_000 });
  assert.equal(lease.lease, true);
  await lease.renew(600_000);
  await a.close();
  await assert.rejects(
    b.lock("deploy", { timeoutMs: 0 }),
    isEmError("timeout"),
  );
  await b.renewLease("deploy", lease.token, 900_000);
  await assert.rejects(
    b.releaseLease("deploy", "not-a-token"),
    isEmError("refused", /is neither a hold of this connection nor a lease/),
  );
  await b.releaseLease("deploy", lease.token);
  await using mine = await b.lock("deploy", { timeoutMs: 0 });
  await assert.rejects(mine.renew(1_000), isEmError("refused", /not a lease/));
});

Deno.test("lease: expiry hands the lock to the next waiter", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await connect({ port: server.addr.port });
  await using b = await connect({ port: server.addr.port });
  const lease = await a.lock("deploy", { ttlMs: 30 });
  await using mine = await b.lock("deploy", { timeoutMs: 10_000 });
  assert.ok(mine.held);
  await assert.rejects(lease.release(), isEmError("refused"));
});

Deno.test("barrier: all parties pass together; a timed-out party withdraws", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const clients = await Promise.all(
    [1, 2, 3].map(() => connect({ port: server.addr.port })),
  );
  try {
    const [a, b, c] = clients as [
      typeof clients[0],
      typeof clients[0],
      typeof clients[0],
    ];
    await assert.rejects(
      a.barrier("start", 2, { timeoutMs: 20 }),
      isEmError("timeout", /2 parties did not arrive within 20 ms/),
    );
    const first = b.barrier("start", 2);
    await b.flush();
    await assert.rejects(c.barrier("start", 3), isEmError("refused"));
    await Promise.all([first, c.barrier("start", 2)]); // a's arrival no longer counts
    await Promise.all([a, b, c].map((x) => x.barrier("all", 3)));
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
});

Deno.test("condition: wait releases the mutex, sleeps until notified, and takes it back", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using consumer = await connect({
    port: server.addr.port,
    receive: true,
  });
  await using producer = await connect({ port: server.addr.port });
  let ready = false;
  const consumerHold = await consumer.lock("queue"); // first: the producer waits for the wait
  const consumed = (async () => {
    await using hold = consumerHold;
    const condition = consumer.condition("queue");
    let wakeups = 0;
    while (!ready) {
      assert.equal(await condition.wait(hold, { timeoutMs: 10_000 }), true);
      wakeups++;
      assert.equal(hold.held, true);
    }
    return wakeups;
  })();
  {
    await using hold = await producer.lock("queue"); // only once the consumer waits
    ready = true;
    await producer.condition("queue").notify();
    assert.ok(hold.held);
  }
  assert.ok(await consumed >= 1);
});

Deno.test("condition: a timed-out wait returns false holding the mutex", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await connect({ port: server.addr.port, receive: true });
  await using other = await connect({ port: server.addr.port });
  await using hold = await client.lock("m");
  const before = hold.token;
  assert.equal(
    await client.condition("m").wait(hold, { timeoutMs: 20 }),
    false,
  );
  assert.equal(hold.held, true);
  assert.notEqual(hold.token, before);
  await assert.rejects(other.lock("m", { timeoutMs: 0 }), isEmError("timeout"));
  assert.throws(() => client.condition("bad-name"), TypeError);
});
