// What emd counts, read through server.stats() with real clients on 127.0.0.1: traffic, every
// disconnect reason, agent calls, sync state, and the report over TCP (`emd/stats`).
import assert from "node:assert/strict";
import { connect } from "../../../client/mod.ts";
import { CallError } from "../../../protocol/mod.ts";
import { defineAgent, startServer } from "../../../server/mod.ts";
import { disconnectReason } from "../../../server/metrics/counters.ts";
import { protocolOf } from "../../../server/metrics/collect.ts";
import type { ServerStats } from "../../../server/metrics/stats.ts";
import { RawPeer } from "../../_helpers/wire.ts";

/** Waits (bounded) until `condition` holds, failing with `what` after `timeoutMs`. */
async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const disconnects = (server: { stats(): ServerStats }) =>
  server.stats().disconnects;

Deno.test("metrics: a close is sorted by its log properties and reason", () => {
  const table: [Parameters<typeof disconnectReason>[0], string][] = [
    [{ reason: "Peer closed the connection" }, "peer_closed"],
    [
      { reason: "Peer closed mid-message (3 bytes unterminated)" },
      "protocol_error",
    ],
    [{ reason: "x", properties: { limit: "helloTimeoutMs" } }, "hello_timeout"],
    [{ reason: "x", properties: { limit: "maxQueuedBytes" } }, "slow_receiver"],
    [{ reason: "x", properties: { limit: "maxConnections" } }, "limit"],
    [{ reason: "x", properties: { code: "auth" } }, "auth"],
    [{ reason: "Protocol error: bad" }, "protocol_error"],
    [{ reason: "Authentication failed: no or wrong token" }, "auth"],
    [{ reason: "Peer closed the WebSocket" }, "peer_closed"],
    [{ reason: "Server stopping: closed" }, "server_stopping"],
    [{ reason: "Cannot write: broken pipe" }, "io_error"],
  ];
  for (const [closed, kind] of table) {
    assert.equal(disconnectReason(closed), kind, JSON.stringify(closed));
  }
});

Deno.test("metrics: triggers, deliveries and bytes count what passed", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const port = server.addr.port;
  await using a = await connect({ port, receive: true });
  await using b = await connect({ port, receive: true });
  await using sender = await RawPeer.greeted(port, "H1.2");
  await a.flush();
  await b.flush();
  const before = server.stats();
  await sender.send("Tone\nTtwo\nTthree\n"); // one frame of three
  await sender.roundTrip();
  await sender.send("Tfour;x\n"); // with an ignorable option: the slow path
  await sender.roundTrip();
  assert.equal(await b.wait("four", 5_000), true);
  const after = server.stats();
  assert.equal(after.traffic.triggers - before.traffic.triggers, 4);
  assert.equal(after.traffic.deliveries - before.traffic.deliveries, 8);
  assert.ok(after.traffic.bytesReceived - before.traffic.bytesReceived >= 27);
  assert.ok(after.traffic.bytesSent - before.traffic.bytesSent >= 2 * 23);
  assert.deepEqual(after.connections.byProtocol, { "1.2": 3 });
  assert.equal(after.connections.receiving, 2);
  assert.equal(after.connections.open, 3);
  assert.ok(after.connections.accepted >= 3);
});

Deno.test("metrics: events with data and agent events count, with who sent them", async () => {
  const agent = defineAgent({
    api: "speed",
    init(ctx) {
      ctx.makeEvent("kmh");
    },
    verbs: {
      sub: (req, ctx) => req.subscribe(ctx.events.get("speed/kmh")!),
      push: (_, ctx) => ctx.events.get("speed/kmh")!.push({ v: 1 }),
      boom: () => {
        throw new Error("boom");
      },
    },
  });
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [agent],
  });
  await using client = await connect({ port: server.addr.port, receive: true });
  await client.call("speed/sub");
  assert.equal(await client.call("speed/push"), 1);
  assert.equal(await client.trigger("with_data", { a: 1 }), 1);
  await assert.rejects(client.call("speed/boom"), CallError);
  await assert.rejects(client.call("speed/nothing"), CallError);
  await using raw = await RawPeer.greeted(server.addr.port, "H1.2");
  await raw.send("c1,no_slash\n"); // refused before any agent runs
  assert.match((await raw.readLine())!, /^x1,bad-request,/);
  const stats = server.stats();
  assert.equal(stats.traffic.triggers, 2);
  assert.equal(stats.traffic.deliveries, 2);
  assert.deepEqual(stats.calls, {
    ok: 2,
    failed: 1,
    "unknown-verb": 1,
    "bad-request": 1,
  });
  assert.deepEqual(stats.agents, [{
    api: "speed",
    verbs: ["sub", "push", "boom"],
    events: [{ name: "speed/kmh", subscribers: 1 }],
  }]);
});

Deno.test("metrics: a closed peer counts as peer_closed and is listed as recent", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const peer = await RawPeer.greeted(server.addr.port);
  await peer.roundTrip();
  const name = peer.name;
  peer.close();
  await until(() => disconnects(server).peer_closed === 1, "peer_closed");
  const [recent] = server.stats().recentDisconnects;
  assert.equal(recent?.peer, name);
  assert.equal(recent?.kind, "peer_closed");
  assert.equal(recent?.reason, "Peer closed the connection");
});

Deno.test("metrics: a silent peer counts as hello_timeout", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    helloTimeoutMs: 50,
  });
  await using peer = await RawPeer.connect(server.addr.port);
  await peer.untilClosed();
  peer.close(); // emd lingers for our close after its last line
  await until(() => disconnects(server).hello_timeout === 1, "hello_timeout");
});

Deno.test("metrics: a connection past maxConnections counts as limit", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    maxConnections: 1,
  });
  await using first = await RawPeer.greeted(server.addr.port);
  await first.roundTrip();
  await using second = await RawPeer.connect(server.addr.port);
  assert.match((await second.untilClosed()).join("\n"), /^elimit,/m);
  await until(() => disconnects(server).limit === 1, "limit");
});

Deno.test("metrics: bad bytes count as protocol_error", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await RawPeer.greeted(server.addr.port);
  await peer.send("\x01\n");
  await peer.untilClosed();
  await until(() => disconnects(server).protocol_error === 1, "protocol_error");
});

Deno.test("metrics: a hello without proof of the secret counts as auth", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    secret: "s3cret",
  });
  await using peer = await RawPeer.greeted(server.addr.port, "H1.2");
  assert.match((await peer.untilClosed()).join("\n"), /^eauth,/m);
  peer.close(); // emd lingers for our close after its last line
  await until(() => disconnects(server).auth === 1, "auth");
});

Deno.test("metrics: a receiver that never reads counts as slow_receiver", async () => {
  const maxQueuedBytes = 64 * 1024;
  await using server = await startServer({
    port: 0,
    name: "t",
    maxQueuedBytes,
  });
  const port = server.addr.port;
  await using slow = await RawPeer.greeted(port, "H1.1\nF1");
  await slow.send("psync\n");
  await using sender = await RawPeer.greeted(port);
  const round = `T${"x".repeat(255)}\n`.repeat(63);
  for (let i = 0; disconnects(server).slow_receiver === 0; i++) {
    assert.ok(i < 5_000, "no cut-off after 5000 rounds");
    await sender.send(round);
    await sender.roundTrip(String(i));
  }
  assert.equal(disconnects(server).slow_receiver, 1);
});

Deno.test("metrics: connections the server closes when stopping count as server_stopping", async () => {
  const server = await startServer({ port: 0, name: "t" });
  await using peer = await RawPeer.greeted(server.addr.port);
  await peer.roundTrip();
  await server.close();
  assert.equal(disconnects(server).server_stopping, 1);
});

Deno.test("metrics: sync state shows latches, holders, queues, leases and barriers", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const port = server.addr.port;
  await using peer = await RawPeer.greeted(port, "H1.2\nF1");
  await peer.send("l1,done\nk2,db,1,1\nk3,pool,2,1,60000\nb4,start,3\n");
  await using other = await RawPeer.greeted(port, "H1.2\nF1");
  await other.send("k5,db,1,1\n");
  await other.roundTrip();
  await peer.roundTrip();
  const { sync } = server.stats();
  assert.deepEqual(sync.latches, ["done"]);
  assert.deepEqual(sync.semaphores, [{
    name: "db",
    permits: 1,
    held: 1,
    holders: [{ holder: peer.name, count: 1, lease: false }],
    queue: [{ peer: other.name, count: 1 }],
  }, {
    name: "pool",
    permits: 2,
    held: 1,
    holders: [{ holder: "lease", count: 1, lease: true }],
    queue: [],
  }]);
  assert.equal(sync.leases, 1);
  assert.deepEqual(sync.barriers, [{
    name: "start",
    parties: 3,
    waiting: [peer.name],
  }]);
});

Deno.test("metrics: the report reaches a TCP client as the verb emd/stats", async () => {
  await using server = await startServer({
    port: 0,
    name: "srv",
    version: "9.9.9",
  });
  await using client = await connect({ port: server.addr.port, receive: true });
  const stats = await client.call("emd/stats", {
    detail: true,
  }) as unknown as ServerStats;
  assert.equal(stats.server.name, "srv");
  assert.equal(stats.server.version, "9.9.9");
  assert.deepEqual(stats.server.addresses, [
    `tcp 127.0.0.1:${server.addr.port}`,
  ]);
  assert.equal(stats.connections.peers?.length, 1);
  assert.equal(stats.connections.peers?.[0]?.protocol, "1.2");
  assert.deepEqual(stats.agents, []); // emd's own agent is not listed
});

Deno.test("metrics: no hosted agent may take the API name emd", () => {
  assert.throws(
    () =>
      startServer({
        port: 0,
        name: "t",
        agents: [defineAgent({ api: "emd", verbs: {} })],
      }),
    {
      name: "TypeError",
      message: 'Agent API name "emd" is reserved: emd\'s own agent uses it',
    },
  );
});

Deno.test("metrics: a connection's protocol is its hello's, or its link's kind", () => {
  const session = (minor: number | undefined, kind?: string) => ({
    peer: "p",
    hello: minor === undefined ? undefined : { minor },
    receiving: false,
    connection: { queuedBytes: 0, ...(kind ? { kind } : {}) },
  });
  assert.equal(protocolOf(session(undefined)), "pending");
  assert.equal(protocolOf(session(1)), "1.1");
  assert.equal(protocolOf(session(2)), "1.2");
  assert.equal(protocolOf(session(2, "tcp")), "1.2");
  assert.equal(protocolOf(session(2, "websocket")), "websocket");
});
