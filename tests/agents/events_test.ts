import assert from "node:assert/strict";
import { connect, type EmClient } from "../../client/mod.ts";
import { startServer } from "../../server/mod.ts";
import { CallError, type JsonValue } from "../../protocol/mod.ts";
import { defineAgent, EventDroppedError } from "../../server/agents/agent.ts";
import { rawPeer } from "./_raw.ts";
import { probeAgent } from "../_helpers/probe_agent.ts";

const probe = () => probeAgent();

async function start() {
  const { agent, ctx } = probe();
  const server = await startServer({ port: 0, name: "t", agents: [agent] });
  return {
    server,
    ctx,
    port: server.addr.port,
    [Symbol.asyncDispose]: () => server.close(),
  };
}

async function receiver(port: number): Promise<EmClient> {
  return await connect({ port, receive: true });
}

Deno.test("events: a 1.1 peer and a 1.2 client on one server", async () => {
  await using s = await start();
  await using old = await rawPeer(s.port, "H1.1\nF1\n");
  await using modern = await receiver(s.port);
  assert.match(await old.line(), /^H1\.2;m\d+(;[a-z][^;]*)*$/);
  const sub = modern.subscribe("build_done");
  await sub.ready;
  const other = modern.subscribe("door/*");
  await other.ready;
  assert.equal(await modern.trigger("build_done", { ok: true }), 2);
  assert.equal(await old.line(), "Tbuild_done"); // a data trigger is a plain trigger to 1.1
  const iterator = sub[Symbol.asyncIterator]();
  assert.deepEqual((await iterator.next()).value, {
    name: "build_done",
    data: { ok: true },
  });
  assert.equal(await modern.wait("build_done", 1_000), true); // and wakes 1.2 waiters
  assert.equal(await modern.trigger("door/front-open", 1), 1); // not a 1.1 name: 1.1 sees nothing
  await modern.call("probe/join", { name: "x" });
  assert.equal(s.ctx().makeEvent("x").push(5), 1);
  assert.equal(s.ctx().broadcastEvent("y", 6), 1);
  await modern.trigger("after");
  assert.equal(await old.line(), "Tafter"); // nothing else came before it
  assert.deepEqual(old.buffered, []);
});

Deno.test("events: subscribing twice is once; one unsubscribe ends it at once", async () => {
  await using s = await start();
  await using client = await receiver(s.port);
  const events = client.events("probe/*");
  assert.equal(await client.call("probe/join", { name: "a" }), "probe/a");
  await client.call("probe/join", { name: "a" });
  assert.equal(await client.call("probe/push", { name: "a", data: 1 }), 1);
  await client.call("probe/leave", { name: "a" });
  assert.equal(await client.call("probe/push", { name: "a", data: 2 }), 0);
  const sub1 = client.subscribe("probe/a");
  const sub2 = client.subscribe("probe/a");
  await Promise.all([sub1.ready, sub2.ready]);
  assert.equal(await client.call("probe/push", { name: "a", data: 3 }), 1);
  await client.unsubscribe("probe/a");
  assert.equal(await client.call("probe/push", { name: "a", data: 4 }), 0);
  await client.flush();
  const seen: JsonValue[] = [];
  for await (const event of sub1) seen.push(event.data!);
  assert.deepEqual(seen, [], "unsubscribe ends the local stream at once");
  await events.unsubscribe();
  const all: JsonValue[] = [];
  for await (const event of events) all.push(event.data!);
  assert.deepEqual(all, []);
});

Deno.test("events: delivered data arrives once per push, in order", async () => {
  await using s = await start();
  await using client = await receiver(s.port);
  const events = client.events("probe/a")[Symbol.asyncIterator]();
  await client.call("probe/join", { name: "a" });
  await client.call("probe/join", { name: "a" });
  for (let i = 0; i < 3; i++) {
    assert.equal(await client.call("probe/push", { name: "a", data: i }), 1);
  }
  for (let i = 0; i < 3; i++) {
    assert.deepEqual((await events.next()).value, { name: "probe/a", data: i });
  }
  await events.return!();
});

Deno.test("events: push counts stay exact as subscribers come and go", async () => {
  await using s = await start();
  const clients: EmClient[] = [];
  const push = () => s.ctx().makeEvent("n").push("x");
  try {
    for (let i = 1; i <= 4; i++) {
      const client = await receiver(s.port);
      clients.push(client);
      await client.call("probe/join", { name: "n" });
      assert.equal(push(), i);
    }
    await clients[1]!.close();
    assert.equal(push(), 3);
    await clients[0]!.call("probe/leave", { name: "n" });
    assert.equal(push(), 2);
    const patterned = clients[0]!.subscribe("probe/*");
    await patterned.ready;
    assert.equal(push(), 3);
    await clients[2]!.subscribe("probe/n").ready; // subscribed and pattern-matching: counted once
    assert.equal(push(), 3);
    for (const client of clients) await client.close();
    assert.equal(push(), 0);
  } finally {
    for (const client of clients) await client.close();
  }
});

Deno.test("events: after drop the event is a typed error; makeEvent makes a new one", async () => {
  await using s = await start();
  await using client = await receiver(s.port);
  await client.call("probe/join", { name: "d" });
  const event = s.ctx().makeEvent("d");
  assert.equal(event.subscriberCount, 1);
  event.drop();
  assert.equal(event.dropped, true);
  assert.throws(() => event.push(1), EventDroppedError);
  assert.throws(() => event.broadcast(1), EventDroppedError);
  const again = s.ctx().makeEvent("d");
  assert.notEqual(again, event);
  assert.equal(again.push(1), 0, "drop unsubscribed everyone");
  assert.equal(s.ctx().makeEvent("d"), again);
  const failure = await client.call("probe/push", { name: "d" }).then(() => {
    event.push(1);
  }).catch((e) => e);
  assert.ok(failure instanceof EventDroppedError);
});

Deno.test("events: a broadcast reaches every receiver exactly once", async () => {
  await using s = await start();
  await using a = await receiver(s.port);
  await using b = await receiver(s.port);
  await using quiet = await connect({ port: s.port }); // not receiving: not counted
  await using old = await rawPeer(s.port, "H1.1\nF1\n");
  await old.line();
  await a.subscribe("probe/*").ready; // also matches: still once
  await a.call("probe/join", { name: "all" });
  await b.subscribe("probe/marker").ready;
  const streams = [a.events(), b.events()];
  assert.equal(
    await quiet.call("probe/broadcast", { name: "all", data: 7 }),
    2,
  );
  assert.equal(await quiet.trigger("probe/marker", 8), 2);
  for (const stream of streams) {
    const iterator = stream[Symbol.asyncIterator]();
    assert.deepEqual((await iterator.next()).value, {
      name: "probe/all",
      data: 7,
    });
    assert.deepEqual((await iterator.next()).value, {
      name: "probe/marker",
      data: 8,
    });
    await stream.unsubscribe();
  }
  await old.write("Tend\n");
  assert.equal(await old.line(), "Tend"); // the broadcast's name is not a 1.1 name
});

Deno.test("events: patterns match one name segment per star", async () => {
  await using s = await start();
  await using client = await receiver(s.port);
  await client.subscribe("probe/*-1Hz").ready;
  const got = client.events();
  const names = [
    "probe/kmh-1Hz",
    "probe/kmh-2Hz",
    "probe/a/b-1Hz",
    "other/x-1Hz",
  ];
  const counts = [];
  for (const name of names) counts.push(await client.trigger(name, null));
  assert.deepEqual(counts, [1, 0, 0, 0]);
  const first = await got[Symbol.asyncIterator]().next();
  assert.deepEqual(first.value, { name: "probe/kmh-1Hz", data: null });
  assert.throws(() => client.subscribe("bad pattern"), TypeError);
});

Deno.test("events: a connection that does not receive cannot subscribe", async () => {
  await using s = await start();
  await using client = await connect({ port: s.port });
  const failure = await client.call("probe/join", { name: "a" }).catch((e) =>
    e
  );
  assert.ok(failure instanceof CallError);
  assert.equal(failure.failure, "cannot-receive");
  assert.match(
    failure.message,
    /Cannot subscribe 127\.0\.0\.1:\d+ to "probe\/a": it does not receive events/,
  );
  assert.throws(
    () => client.subscribe("x"),
    /connect with \{ receive: true \}/,
  );
  await using raw = await rawPeer(s.port, "H1.2\n");
  await raw.line();
  await raw.write("s1,x\n");
  assert.match(await raw.line(), /^x1,cannot-receive,Cannot subscribe to "x"/);
});

Deno.test("events: data at the agreed limit passes, one byte over is refused", async () => {
  const max = 70_000;
  await using server = await startServer({
    port: 0,
    name: "t",
    maxMessageBytes: max,
  });
  await using client = await connect({ port: server.addr.port, receive: true });
  assert.equal(client.maxMessageBytes, max);
  await client.subscribe("big").ready;
  const overhead = 't2,big,""\n'.length; // the request ids count from 1: subscribe was 1
  const exact = "a".repeat(max - overhead);
  assert.equal(await client.trigger("big", exact), 1);
  const events = client.events("big")[Symbol.asyncIterator]();
  await assert.rejects(client.trigger("big", exact + "a"), RangeError);
  assert.equal(await client.trigger("big", "small"), 1);
  assert.equal((await events.next()).value!.data as string, "small");
  await events.return!();
  await using raw = await rawPeer(server.addr.port, `H1.2;m${max}\n`);
  await raw.line();
  await raw.write(`t1,big,"${"b".repeat(max)}"\n`);
  assert.equal(await raw.closed(), true);
});

Deno.test("events: 64 KiB of JSON travels between 1.2 peers with default limits", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using a = await connect({ port: server.addr.port, receive: true });
  await using b = await connect({ port: server.addr.port });
  const sub = a.subscribe("blob");
  await sub.ready;
  const data = { text: ";,\\é".repeat(16 * 1024) }; // 64 Ki characters, all escaped
  assert.equal(await b.trigger("blob", data), 1);
  const got = await sub[Symbol.asyncIterator]().next();
  assert.deepEqual(got.value, { name: "blob", data });
  await using old = await rawPeer(server.addr.port, "H1.1\nF1\n");
  await old.line();
  await b.flush();
  assert.equal(await b.trigger("blob", data), 2); // the 1.1 peer gets a plain Tblob
  assert.equal(await old.line(), "Tblob");
});

Deno.test("events: an agent's onEvent gets what it subscribed to; its throws are only logged", async () => {
  const seen: [string, JsonValue | undefined][] = [];
  const listener = defineAgent({
    api: "listener",
    init: (ctx) => ctx.subscribe("door/*"),
    verbs: {},
    onEvent(name, data) {
      seen.push([name, data]);
      if (name === "door/bad") throw new Error("listener broke");
    },
  });
  const { agent } = probe();
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [agent, listener],
  });
  await using client = await connect({ port: server.addr.port });
  assert.equal(await client.trigger("door/bad", 1), 1);
  assert.equal(await client.trigger("door/open", { by: "me" }), 1);
  assert.equal(await client.trigger("window/open", 2), 0);
  // a broadcast reaches every agent with onEvent (the connection does not receive)
  assert.equal(await client.call("probe/broadcast", { name: "b", data: 3 }), 1);
  assert.deepEqual(seen, [
    ["door/bad", 1],
    ["door/open", { by: "me" }],
    ["probe/b", 3],
  ]);
});

Deno.test("events: an agent calling another agent's verb can be subscribed by it", async () => {
  const got: JsonValue[] = [];
  const follower = defineAgent({
    api: "follower",
    verbs: { follow: (_req, ctx) => ctx.call("probe/join", { name: "feed" }) },
    onEvent: (_name, data) => void got.push(data!),
  });
  const deaf = defineAgent({
    api: "deaf",
    verbs: { follow: (_req, ctx) => ctx.call("probe/join", { name: "feed" }) },
  });
  const { agent, ctx } = probe();
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [agent, follower, deaf],
  });
  await using client = await connect({ port: server.addr.port });
  assert.equal(await client.call("follower/follow"), "probe/feed");
  assert.equal(ctx().makeEvent("feed").push("one"), 1);
  const failure = await client.call("deaf/follow").catch((e) => e);
  assert.equal(failure.failure, "cannot-receive");
  assert.match(failure.message, /Cannot subscribe agent:deaf to "probe\/feed"/);
  await client.flush();
  assert.deepEqual(got, ["one"]);
});

Deno.test("events: a push at the server's limit passes, one byte over throws", async () => {
  const { agent, ctx } = probe();
  const max = 70_000;
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [agent],
    maxMessageBytes: max,
  });
  await using client = await receiver(server.addr.port);
  await client.subscribe("probe/*").ready;
  const events = client.events("probe/big")[Symbol.asyncIterator]();
  await using small = await rawPeer(server.addr.port, "H1.2\nF1\ns1,probe/*\n");
  assert.match(await small.line(), /^H1\.2;m70000(;[a-z][^;]*)*$/);
  assert.equal(await small.line(), "r1"); // no m offered: 4096 bytes for this peer
  const overhead = 'dprobe/big,""\n'.length;
  const event = ctx().makeEvent("big");
  const exact = "a".repeat(max - overhead);
  assert.equal(event.push(exact), 1, "too big for the raw peer");
  assert.throws(() => event.push(exact + "a"), RangeError);
  assert.equal(event.push("small"), 2);
  assert.equal(await small.line(), 'dprobe/big,"small"');
  for (const data of [exact, "small"]) {
    assert.deepEqual((await events.next()).value, { name: "probe/big", data });
  }
  await events.return!();
});

Deno.test("events: aborting a subscription unsubscribes once no other stream wants it", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await receiver(server.addr.port);
  await using sender = await connect({ port: server.addr.port });
  const first = new AbortController();
  const second = new AbortController();
  const a = client.subscribe("x/y", { signal: first.signal });
  const b = client.subscribe("x/y", { signal: second.signal });
  await Promise.all([a.ready, b.ready]);
  assert.equal(await sender.trigger("x/y", 1), 1);
  first.abort(new Error("first gone"));
  await client.flush();
  assert.equal(
    await sender.trigger("x/y", 2),
    1,
    "the second stream still wants x/y",
  );
  second.abort(new Error("second gone"));
  await client.flush();
  assert.equal(await sender.trigger("x/y", 3), 0);
  const late = client.subscribe("x/y", { signal: first.signal });
  await assert.rejects(late.ready, { message: "first gone" });
  await client.flush();
  assert.equal(
    await sender.trigger("x/y", 4),
    0,
    "an aborted subscribe asks nothing",
  );
  const aborted = client.events("x/y", { signal: AbortSignal.abort() });
  await assert.rejects(aborted[Symbol.asyncIterator]().next(), {
    name: "AbortError",
  });
});
