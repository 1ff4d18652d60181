import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import { startServer } from "../../server/mod.ts";
import { isEmError } from "../_helpers/em_error.ts";

Deno.test("waitAny: misuse is a TypeError, before anything is sent", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using deaf = await connect({ port: server.addr.port });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  assert.throws(() => deaf.waitAny(["a"], 10), TypeError);
  assert.throws(() => waiter.waitAny([], 10), TypeError);
  assert.throws(() => waiter.waitAny(["a", "b-c"], 10), TypeError);
  const aborted = AbortSignal.abort(new Error("stop"));
  await assert.rejects(waiter.waitAny(["a"], -1, { signal: aborted }), /stop/);
});

Deno.test("waitAny: resolves with the name triggered after onReady, and null on timeout", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await using sender = await connect({ port: server.addr.port });
  const order: string[] = [];
  const name = await waiter.waitAny(["a", "b", "c"], -1, {
    onReady: () => {
      order.push("ready");
      void sender.trigger("b");
    },
  });
  order.push(`fired ${name}`);
  assert.deepEqual(order, ["ready", "fired b"]);
  let ready = false;
  assert.equal(
    await waiter.waitAny(["a"], 20, { onReady: () => ready = true }),
    null,
  );
  assert.equal(ready, true);
});

Deno.test("waitAny: an abort rejects with the signal's reason", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  const controller = new AbortController();
  const waiting = waiter.waitAny(["a"], -1, {
    signal: controller.signal,
    onReady: () => controller.abort(new Error("enough")),
  });
  await assert.rejects(waiting, /enough/);
});

Deno.test("latch: a latched event answers every later wait at once until reset", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using sender = await connect({ port: server.addr.port });
  await sender.trigger("deployed", { latch: true }); // before anybody waits: the race fixed
  await using late = await connect({ port: server.addr.port, receive: true });
  assert.equal(late.syncAvailable, true);
  let ready = false;
  assert.equal(
    await late.waitAny(["other", "deployed"], 5_000, {
      onReady: () => ready = true,
    }),
    "deployed",
  );
  assert.equal(ready, true, "onReady comes before a wait resolves with a name");
  assert.equal(await late.waitAny(["deployed"], 5_000), "deployed");
  await sender.reset("deployed");
  const next = await late.waitAny(["deployed", "marker"], 5_000, {
    onReady: () => void sender.trigger("marker"),
  });
  assert.equal(next, "marker"); // not latched any more: the wait really waited
});

Deno.test("latch: { latch: false } is a plain trigger; other objects stay data", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using sender = await connect({ port: server.addr.port });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await waiter.flush();
  await sender.trigger("plain", { latch: false });
  assert.equal(await waiter.wait("plain", 5_000), true);
  assert.equal(await sender.trigger("plain", { latch: true, x: 1 }), 1); // data: receivers count
  assert.equal(
    await waiter.waitAny(["plain", "marker"], 5_000, {
      onReady: () => void sender.trigger("marker"),
    }),
    "plain", // the data trigger arrived as a plain T (it was remembered); nothing was latched
  );
  assert.equal(
    await waiter.waitAny(["plain", "marker"], 5_000, {
      onReady: () => void sender.trigger("marker"),
    }),
    "marker",
  );
});

Deno.test("waitAny: against a 1.1 server it waits for plain triggers; sync calls are refused", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const serving = (async () => {
    using conn = await listener.accept();
    await conn.write(new TextEncoder().encode("H1.1\n"));
    const buffer = new Uint8Array(256);
    let seen = "";
    while (!seen.includes("F1\n")) {
      const count = await conn.read(buffer);
      if (count === null) return;
      seen += new TextDecoder().decode(buffer.subarray(0, count));
    }
    await conn.write(new TextEncoder().encode("Tb\n"));
    await conn.read(buffer); // until the client goes away
  })();
  await using client = await connect({ port, receive: true });
  assert.equal(client.syncAvailable, false);
  await assert.rejects(
    client.lock("x"),
    isEmError("protocol", /does not offer sync/),
  );
  await assert.rejects(
    client.trigger("x", { latch: true }),
    isEmError("protocol"),
  );
  let ready = false;
  assert.equal(
    await client.waitAny(["a", "b"], 10_000, { onReady: () => ready = true }),
    "b",
  );
  assert.equal(ready, true);
  await client.close();
  await serving;
});

Deno.test("waitAny: a closed connection rejects a pending wait", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const waiter = await connect({ port: server.addr.port, receive: true });
  const waiting = waiter.waitAny(["a"], -1, {
    onReady: () => void server.close(),
  });
  await assert.rejects(waiting, isEmError("closed"));
  await waiter.close();
});

Deno.test("waitAny: a zero timeout still sees a latch (the server answers first)", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await connect({ port: server.addr.port, receive: true });
  assert.equal(await client.waitAny(["flag"], 0), null);
  await client.trigger("flag", { latch: true });
  for (let i = 0; i < 20; i++) { // not a race the timer can win, however slow the machine
    assert.equal(await client.waitAny(["flag"], 0), "flag");
  }
});

Deno.test("waitAny: names that do not fit in one message are a RangeError", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({
    port: server.addr.port,
    receive: true,
    maxMessageBytes: 4096,
  });
  const names = Array.from({ length: 600 }, (_, i) => `event_${i}`);
  assert.throws(() => waiter.waitAny(names, 10), RangeError);
  assert.equal(await waiter.waitAny(names.slice(0, 100), 0), null); // fits: answered
});
