import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import { startServer } from "../../server/mod.ts";
import { until } from "../_helpers/until.ts";
import { captureLogs, literal, RawPeer } from "../_helpers/wire.ts";

const MAX_QUEUED_BYTES = 64 * 1024;
const encoder = new TextEncoder();
const MAX_FLOOD_BYTES = 256 * 1024 * 1024; // far past any loopback socket buffer

Deno.test("emd: a client that never reads is cut off at maxQueuedBytes, others stay served", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({
    port: 0,
    name: "t",
    maxQueuedBytes: MAX_QUEUED_BYTES,
  });
  const port = server.addr.port;
  // Never reads after its hello: the kernel's buffers fill, then the server's queue.
  await using slow = await RawPeer.greeted(port, "H1.1\nF1");
  await slow.send("psync\n");
  await using fast = await connect({
    port,
    receive: true,
    maxRememberedTriggers: 8,
  });
  await using sender = await RawPeer.greeted(port);
  await fast.flush();

  // Each round sends ~16 KiB of triggers, and both the sender and the fast receiver then make a
  // round trip: the fast receiver's queue never holds more than one round, the slow one's grows.
  const trigger = `T${"x".repeat(255)}\n`;
  const round = trigger.repeat(63);
  const cutOff = new RegExp(
    literal(
      `Closed ${slow.name}: Cannot queue output: over ${MAX_QUEUED_BYTES} bytes`,
    ),
  );
  let flooded = 0;
  for (let i = 0; logs.matching(cutOff).length === 0; i++) {
    assert.ok(flooded < MAX_FLOOD_BYTES, `no cutoff after ${flooded} bytes`);
    await sender.send(round);
    await sender.roundTrip(String(i));
    await fast.flush();
    flooded += round.length;
  }
  assert.equal(logs.matching(cutOff).length, 1);
  assert.match(logs.matching(cutOff)[0]!, /^em WARNING /);

  await sender.send("Tafter\n");
  assert.equal(await fast.wait("after", 10_000), true);
  assert.equal(server.connectionCount, 2); // the fast receiver and the sender
  await using late = await connect({ port, receive: true });
  await late.flush();
  await sender.send("Tlate\n");
  assert.equal(await late.wait("late", 10_000), true);
});

Deno.test("emd: a receiver slower than a pipelining sender holds the sender back instead of being cut off", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({
    port: 0,
    name: "t",
  });
  const port = server.addr.port;
  await using slow = await RawPeer.greeted(port, "H1.2\nF1");
  await slow.roundTrip();
  await using pacer = await RawPeer.greeted(port, "H1.2");
  await using sender = await RawPeer.greeted(port);
  const name = "y".repeat(94);
  const count = 320_000; // 30 MiB: far past maxQueuedBytes and what the kernel buffers here
  const flood = encoder.encode(`T${name}\n`.repeat(count));
  const sent = sender.send(flood); // pipelined: the server must stop reading it, not drop us

  // The receiver reads 16 KiB at a time, each read after a round trip of another connection: it
  // keeps up with nothing, but it keeps reading.
  const buffer = new Uint8Array(16 * 1024);
  let received = 0;
  for (let i = 0; received < flood.length; i++) {
    const count = await slow.conn.read(buffer);
    assert.notEqual(
      count,
      null,
      `cut off after ${received} bytes: ${logs.lines.join("\n")}`,
    );
    received += count!;
    await pacer.roundTrip(String(i));
  }
  await sent;
  assert.equal(received, flood.length);
  assert.equal(logs.matching(/Cannot queue output/).length, 0);
  assert.equal(server.connectionCount, 3);
});

/** Reads from `peer` until `bytes` have come; fails if the server closes it first. */
async function readAll(peer: RawPeer, bytes: number, what: string) {
  const buffer = new Uint8Array(256 * 1024);
  for (let received = 0; received < bytes;) {
    const count = await peer.conn.read(buffer);
    assert.notEqual(count, null, `${what} cut off after ${received} bytes`);
    received += count!;
  }
}

/**
 * `receivers` receiving peers (each past a round trip) and a sender that pipelines 16 MiB of
 * triggers, far past the kernel's buffers of a receiver that does not read (about 4 MiB here)
 * and maxQueuedBytes; `sent` settles once all is written.
 */
async function flooded(port: number, receivers: number) {
  const peers: RawPeer[] = [];
  for (let i = 0; i < receivers; i++) {
    const peer = await RawPeer.greeted(port, "H1.1\nF1");
    peers.push(peer);
    await peer.roundTrip();
  }
  const sender = await RawPeer.greeted(port);
  const flood = encoder.encode(`T${"y".repeat(94)}\n`.repeat(175_000));
  const sent = sender.send(flood);
  sent.catch(() => {}); // a failure the test sees is the one to report
  return {
    peers,
    sender,
    bytes: flood.length,
    sent,
    [Symbol.asyncDispose]() {
      for (const peer of [...peers, sender]) peer.close();
      return Promise.resolve();
    },
  };
}

/** emd with stall allowances on (they are off by default). */
function startWithAllowance() {
  return startServer({
    port: 0,
    name: "t",
    // maxQueuedBytes: 1 MiB, room for the sender's read in flight past the high-water mark
    stallAllowanceBytes: 32 * 1024 * 1024,
    stallBudgetBytes: 64 * 1024 * 1024,
  });
}

Deno.test("emd: with a stall allowance, a receiver that stops reading holds the sender back only for a reader's gap, then is cut off at the verdict", async () => {
  await using logs = await captureLogs();
  await using server = await startWithAllowance();
  await using setup = await flooded(server.addr.port, 2);
  const [stopped, reader] = setup.peers as [RawPeer, RawPeer];
  // The reader gets everything while the verdict on the other (3 s on a fresh server) is still
  // out: it held the sender back for a reader's longest gap (1 s) only, and was not cut off.
  await readAll(reader, setup.bytes, "the reader");
  await setup.sent;
  assert.deepEqual(await setup.sender.roundTrip(), []);
  assert.equal(server.connectionCount, 3, logs.lines.join("\n"));
  assert.equal(logs.matching(/Cannot queue output/).length, 0);
  // Then it is judged stopped and cut off at once (it holds more than maxQueuedBytes).
  const cutOff = new RegExp(
    literal(`Closed ${stopped.name}: Cannot queue output: over 1048576 bytes`),
  );
  await until(() => logs.matching(cutOff).length === 1, "the cut", 15_000);
  assert.equal(logs.matching(/Cannot queue output/).length, 1);
  await until(() => server.connectionCount === 2, "its session to end");
});

Deno.test("emd: with a stall allowance, a receiver that reads again before the verdict keeps all it was sent, far past maxQueuedBytes", async () => {
  await using logs = await captureLogs();
  await using server = await startWithAllowance();
  await using setup = await flooded(server.addr.port, 2);
  const [paused, reader] = setup.peers as [RawPeer, RawPeer];
  await readAll(reader, setup.bytes, "the reader");
  await setup.sent;
  await readAll(paused, setup.bytes, "the receiver that read again");
  assert.deepEqual(await paused.roundTrip(), []);
  assert.equal(logs.matching(/Cannot queue output/).length, 0);
  assert.equal(server.connectionCount, 3);
});

Deno.test("emd: by default (no stall allowance) a receiver that stopped holds the sender back until it is cut off", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({ port: 0, name: "t" });
  await using setup = await flooded(server.addr.port, 2);
  const [stopped, reader] = setup.peers as [RawPeer, RawPeer];
  const { sent } = setup;
  await readAll(reader, setup.bytes, "the reader");
  await sent;
  // The reader could get all of it only once the sender went on, after the verdict: by then the
  // stopped receiver was cut off.
  assert.equal(
    logs.matching(
      new RegExp(literal(`Closed ${stopped.name}: Cannot queue output`)),
    ).length,
    1,
  );
  await until(() => server.connectionCount === 2, "its session to end");
});
