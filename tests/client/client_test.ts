import assert from "node:assert/strict";
import { connect, type EmClient } from "../../client/mod.ts";
import { startServer } from "../../server/mod.ts";
import { RawPeer } from "../_helpers/wire.ts";
import { isEmError } from "../_helpers/em_error.ts";
import { closedPort } from "../_helpers/ports.ts";

/**
 * Triggers `names` from `sender` so that they have reached `waiter` when this resolves. The
 * sender's round trip proves the server processed the triggers, which queued them for the waiter
 * at once (fan-out never waits); the waiter's round trip is answered on the same queue after them,
 * and the client reads in order, so they are in its memory before its flush resolves.
 */
async function deliver(sender: EmClient, waiter: EmClient, ...names: string[]) {
  for (const name of names) await sender.trigger(name);
  await sender.flush();
  await waiter.flush();
}

Deno.test('connect: a refused connection is an EmError "connect" naming the address', async () => {
  const port = closedPort();
  await assert.rejects(
    connect({ port }),
    isEmError(
      "connect",
      `Cannot connect to "127.0.0.1:${port}": connection refused`,
    ),
  );
});

Deno.test("connect: an invalid port is a RangeError", async () => {
  for (const port of [0, -1, 65536, 1.5]) {
    await assert.rejects(
      async () => await connect({ port }),
      RangeError,
      `port ${port}`,
    );
  }
});

Deno.test('connect: a server with another major version is an EmError "protocol"', async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const serving = (async () => {
    using conn = await listener.accept();
    await conn.write(new TextEncoder().encode("H2.0\n"));
    await conn.read(new Uint8Array(64)); // until the client goes away
  })();
  await assert.rejects(
    connect({ port }),
    isEmError(
      "protocol",
      `Cannot talk to "127.0.0.1:${port}": it speaks protocol 2.0`,
    ),
  );
  await serving;
});

Deno.test('connect: a server that never says hello is an EmError "timeout"', async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const serving = (async () => {
    using conn = await listener.accept();
    await conn.read(new Uint8Array(64)); // says nothing; returns once the client gives up
  })();
  await assert.rejects(
    connect({ port, connectTimeoutMs: 50 }),
    isEmError(
      "timeout",
      `Cannot connect to "127.0.0.1:${port}": no answer within 50 ms`,
    ),
  );
  await serving;
});

Deno.test("connect: the server's hello is kept", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await connect({
    port: server.addr.port,
    appName: "tests",
  });
  assert.deepEqual(client.server, { major: 1, minor: 2 });
  assert.equal(client.receiving, false);
});

Deno.test("wait: trigger X, trigger Y, wait Y is immediate, wait X sleeps (EM spec)", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await using sender = await connect({ port: server.addr.port });
  await waiter.flush();
  await deliver(sender, waiter, "X", "Y");
  assert.equal(await waiter.wait("Y", 0), true);
  assert.equal(await waiter.wait("X", 50), false); // X was discarded by wait Y: it times out
});

Deno.test("wait: trigger X, trigger Y, wait X is immediate, wait Y is immediate (EM spec)", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await using sender = await connect({ port: server.addr.port });
  await waiter.flush();
  await deliver(sender, waiter, "X", "Y");
  assert.equal(await waiter.wait("X", 0), true);
  assert.equal(await waiter.wait("Y", 0), true);
  assert.equal(await waiter.wait("Y", 0), false); // consumed
});

Deno.test("wait: a trigger arriving during the wait wakes it", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await using sender = await connect({ port: server.addr.port });
  await waiter.flush();
  const woken = waiter.wait("later");
  await sender.trigger("later");
  assert.equal(await woken, true);
});

Deno.test("wait: concurrent waits on different names each wake", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await using sender = await connect({ port: server.addr.port });
  await waiter.flush();
  const x = waiter.wait("X", 10_000), y = waiter.wait("Y", 10_000);
  await sender.trigger("Y");
  await sender.trigger("X");
  assert.deepEqual(await Promise.all([x, y]), [true, true]);
});

Deno.test("next: takes only its own name and discards nothing", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await using sender = await connect({ port: server.addr.port });
  await waiter.flush();
  await deliver(sender, waiter, "X", "Y", "X");
  assert.equal(await waiter.next("Y"), true);
  assert.equal(await waiter.next("X"), true);
  assert.equal(await waiter.next("X"), true);
  assert.equal(await waiter.next("X", { timeoutMs: 0 }), false);
  const pending = waiter.next("Y");
  await sender.trigger("Y");
  assert.equal(await pending, true);
});

Deno.test("triggers: an async iterable of one name's triggers that discards nothing", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await using sender = await connect({ port: server.addr.port });
  await waiter.flush();
  const stream = waiter.triggers("X");
  await deliver(sender, waiter, "X", "Y", "X");
  assert.equal(await waiter.wait("Y", 0), true); // wait's discards do not touch the stream
  const seen: string[] = [];
  for await (const name of stream) {
    seen.push(name);
    if (seen.length === 3) break;
    if (seen.length === 2) await sender.trigger("X"); // arrives while iterating
  }
  assert.deepEqual(seen, ["X", "X", "X"]);
  const iterator = stream[Symbol.asyncIterator]();
  assert.deepEqual(await iterator.next(), { value: undefined, done: true }); // ended by break
});

Deno.test("wait: a pre-aborted signal rejects at once with its reason", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  const reason = new Error("stop");
  const signal = AbortSignal.abort(reason);
  await assert.rejects(
    waiter.wait("X", 60_000, { signal }),
    (e) => e === reason,
  );
  await assert.rejects(waiter.next("X", { signal }), (e) => e === reason);
  const iterator = waiter.triggers("X", { signal })[Symbol.asyncIterator]();
  await assert.rejects(iterator.next(), (e) => e === reason);
});

Deno.test("wait: aborting rejects pending waits with the reason and leaves no timers", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await using sender = await connect({ port: server.addr.port });
  await waiter.flush();
  const controller = new AbortController();
  const { signal } = controller;
  const wait = waiter.wait("X", 60_000, { signal }); // a live timer: the sanitizer sees a leak
  const next = waiter.next("X", { signal, timeoutMs: 60_000 });
  const iterator = waiter.triggers("X", { signal })[Symbol.asyncIterator]();
  const pulled = iterator.next();
  const reason = new DOMException("enough", "AbortError");
  controller.abort(reason);
  await assert.rejects(wait, (e) => e === reason);
  await assert.rejects(next, (e) => e === reason);
  await assert.rejects(pulled, (e) => e === reason);
  await deliver(sender, waiter, "X"); // withdrawn requests do not take it
  assert.equal(await waiter.next("X", { timeoutMs: 0 }), true);
});

Deno.test("wait: a client connected without receive throws TypeError", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await connect({ port: server.addr.port });
  const message = 'Cannot wait for "X": connect with { receive: true }';
  await assert.rejects(async () => await client.wait("X", 0), {
    name: "TypeError",
    message,
  });
  await assert.rejects(async () => await client.next("X"), {
    name: "TypeError",
    message,
  });
  assert.throws(() => client.triggers("X"), { name: "TypeError", message });
});

Deno.test("wait: an invalid name throws TypeError", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await connect({ port: server.addr.port, receive: true });
  for (const name of ["", "a b", "a;b", "x".repeat(256)]) {
    await assert.rejects(async () => await client.wait(name, 0), TypeError);
    await assert.rejects(async () => await client.trigger(name), TypeError);
  }
});

Deno.test('wait: the server closing rejects pending waits with EmError "closed"', async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await waiter.flush();
  const wait = waiter.wait("X");
  const next = waiter.next("Y");
  const pulled = waiter.triggers("Z")[Symbol.asyncIterator]().next();
  await server.close("test over");
  const closed = isEmError(
    "closed",
    `Connection to "127.0.0.1:${server.addr.port}" closed by the server`,
  );
  await assert.rejects(wait, closed);
  await assert.rejects(next, closed);
  await assert.rejects(pulled, closed);
  assert.ok(closed(await waiter.closed));
  await assert.rejects(waiter.wait("X"), closed); // later calls fail the same way
  await assert.rejects(waiter.trigger("X"), closed);
});

Deno.test("wait: past maxRememberedTriggers the oldest triggers are forgotten", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({
    port: server.addr.port,
    receive: true,
    maxRememberedTriggers: 2,
  });
  await using sender = await connect({ port: server.addr.port });
  await waiter.flush();
  await deliver(sender, waiter, "a", "b", "c");
  assert.equal(await waiter.next("a", { timeoutMs: 0 }), false);
  assert.equal(await waiter.next("b", { timeoutMs: 0 }), true);
  assert.equal(await waiter.next("c", { timeoutMs: 0 }), true);
});

Deno.test("trigger: reaches the server before close resolves", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await waiter.flush();
  const sender = await connect({ port: server.addr.port });
  void sender.trigger("fast_exit");
  await sender.close();
  assert.equal(await waiter.wait("fast_exit", 10_000), true);
});

Deno.test("quit: stops a server with that name", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await connect({ port: server.addr.port });
  await client.quit("t");
  assert.match(await server.finished, /^quit requested by 127\.0\.0\.1:\d+$/);
});

Deno.test("quit: a 1.2 server tells a wrong name; the connection stays open", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await connect({ port: server.addr.port });
  await assert.rejects(
    client.quit("other"),
    isEmError(
      "refused",
      `Cannot quit "127.0.0.1:${server.addr.port}": Wrong server name "other"`,
    ),
  );
  await client.flush(); // still served
  await client.quit("t");
  assert.match(await server.finished, /^quit requested by 127\.0\.0\.1:\d+$/);
});

Deno.test("quit: a 1.1 peer hears nothing about a wrong name, as in EM; a 1.2 peer hears why", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using old = await RawPeer.greeted(server.addr.port, "H1.1");
  await old.send("Qother\n");
  assert.deepEqual(await old.roundTrip(), []); // nothing before the ping's answer
  await using peer = await RawPeer.greeted(server.addr.port, "H1.2");
  await peer.send("Qother\n");
  assert.deepEqual(await peer.roundTrip(), [
    'erefused,Wrong server name "other"',
  ]);
});

Deno.test("quit: a 1.2 server that neither quits nor answers is a timeout", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const serving = (async () => {
    using conn = await listener.accept();
    await conn.write(new TextEncoder().encode("H1.2\n"));
    const buffer = new Uint8Array(256);
    while (
      await conn.read(buffer) !== null
    ) { /* reads the hello and the quit, answers nothing */ }
  })();
  {
    await using client = await connect({ port });
    await assert.rejects(
      client.quit("t", { timeoutMs: 50 }),
      isEmError(
        "timeout",
        `Cannot quit "127.0.0.1:${port}": no answer within 50 ms`,
      ),
    );
  }
  await serving;
});

Deno.test('close: idempotent; pending waits reject with EmError "closed"', async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const client = await connect({ port: server.addr.port, receive: true });
  const pending = client.wait("X");
  const first = client.close();
  assert.equal(client.close(), first);
  await first;
  await client[Symbol.asyncDispose]();
  const closed = isEmError(
    "closed",
    `Connection to "127.0.0.1:${server.addr.port}" closed`,
  );
  await assert.rejects(pending, closed);
  assert.ok(closed(await client.closed));
});

Deno.test("flush: against a 1.1 server, waits only for our writes", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const received: string[] = [];
  const serving = (async () => {
    using conn = await listener.accept();
    await conn.write(new TextEncoder().encode("H1.1\n"));
    const buffer = new Uint8Array(1024);
    for (let count; (count = await conn.read(buffer)) !== null;) {
      received.push(new TextDecoder().decode(buffer.subarray(0, count)));
    }
  })();
  const client = await connect({ port, receive: true });
  assert.deepEqual(client.server, { major: 1, minor: 1 });
  await client.trigger("x");
  await client.flush(); // no ping: a 1.1 server would never answer
  await client.close();
  await serving;
  assert.equal(received.join(""), "H1.2\nF1\nTx\n");
});

Deno.test("send: texts sent at once, and while earlier writes are still in flight, arrive in order", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  let received = "";
  const { promise: issued, resolve: allIssued } = Promise.withResolvers<void>();
  const serving = (async () => {
    using conn = await listener.accept();
    await conn.write(new TextEncoder().encode("H1.1\n"));
    await issued; // unread until every send is made: the socket fills, writes wait in flight
    const buffer = new Uint8Array(64 * 1024);
    const decoder = new TextDecoder();
    for (let count; (count = await conn.read(buffer)) !== null;) {
      received += decoder.decode(buffer.subarray(0, count), { stream: true });
    }
  })();
  const client = await connect({ port });
  const names = Array.from(
    { length: 20_000 }, // megabytes: more than the socket buffers hold
    (_, i) => `n${i}_` + "x".repeat(i % 7 === 0 ? 240 : i % 40), // short texts and longer ones
  );
  const late = (i: number) => i % 500 === 0;
  const sent = names.map((name, i) =>
    late(i) // after the others, from a later microtask: queued behind them
      ? Promise.resolve().then(() => client.trigger(name))
      : client.trigger(name)
  );
  allIssued();
  await Promise.all(sent);
  await client.close();
  await serving;
  const expected = [
    ...names.filter((_, i) => !late(i)),
    ...names.filter((_, i) => late(i)),
  ].map((name) => `T${name}`);
  const lines = received.split("\n").filter((line) => line.startsWith("T"));
  assert.deepEqual(lines, expected);
});
