// Every limit of server/limits.ts: the default, the peer past it (told why with an `e` line, then
// closed, or refused a request), the one structured log line, and that others stay served.
import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import type { EmError } from "../../protocol/mod.ts";
import { defineAgent, startServer } from "../../server/mod.ts";
import { configure, type LogRecord, reset } from "../../server/_log.ts";
import {
  DEFAULT_SERVER_LIMITS,
  MessageRate,
  resolveLimits,
} from "../../server/limits.ts";
import { CLOSE_LINGER_MS } from "../../server/connection.ts";
import { RawPeer } from "../_helpers/wire.ts";

/** em's log records (level info and up), properties included, until disposed. */
async function captureRecords() {
  const records: LogRecord[] = [];
  await configure({
    reset: true,
    sinks: { memory: (record: LogRecord) => void records.push(record) },
    loggers: [
      { category: ["em"], lowestLevel: "info", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  return {
    records,
    /** Records whose properties carry `limit`. */
    limitHits: () => records.filter((r) => r.properties.limit !== undefined),
    async [Symbol.asyncDispose]() {
      await reset();
    },
  };
}

/** Waits (bounded) until `condition` holds; fails the test after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `condition not met in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function assertOneHit(
  hits: LogRecord[],
  peer: string,
  limit: string,
  value: number,
) {
  assert.equal(hits.length, 1, `one limit hit: ${JSON.stringify(hits)}`);
  const [hit] = hits;
  assert.equal(hit!.level, "warning");
  assert.deepEqual(
    { peer: hit!.properties.peer, limit: hit!.properties.limit },
    { peer, limit },
  );
  assert.equal(hit!.properties.value, value);
}

Deno.test("limits: every limit has a default, and a bad value is a RangeError", async () => {
  assert.deepEqual(resolveLimits({}), DEFAULT_SERVER_LIMITS);
  for (
    const name of [
      "maxMessagesPerSecond",
      "stallAllowanceBytes",
      "stallBudgetBytes",
    ] as const
  ) {
    assert.equal(resolveLimits({ [name]: 0 })[name], 0, name);
  }
  for (const name of Object.keys(DEFAULT_SERVER_LIMITS)) {
    for (const bad of [-1, 1.5, NaN, Infinity]) {
      assert.throws(() => resolveLimits({ [name]: bad }), RangeError, name);
    }
  }
  assert.throws(() => resolveLimits({ maxConnections: 0 }), RangeError);
  assert.throws(
    () => resolveLimits({ stallBudgetBytes: -1 }),
    /^RangeError: Invalid stallBudgetBytes "-1": use an integer of at least 0$/,
  );
  await assert.rejects(
    async () => await startServer({ name: "t", port: 0, helloTimeoutMs: 0 }),
    /Invalid helloTimeoutMs "0"/,
  );
});

Deno.test("MessageRate: a full bucket of burst, refilled at the rate, never above burst", () => {
  const rate = new MessageRate(100, 10, 0);
  assert.equal(rate.spend(10, 0), true); // the whole burst at once
  assert.equal(rate.spend(1, 0), false); // one more with no time passed
  const later = new MessageRate(100, 10, 0);
  assert.equal(later.spend(10, 0), true);
  assert.equal(later.spend(5, 50), true); // 50 ms refill 5
  assert.equal(later.spend(1, 50), false);
  const idle = new MessageRate(100, 10, 0);
  assert.equal(idle.spend(10, 60_000), true); // a minute idle refills only up to the burst
  assert.equal(idle.spend(1, 60_000), false);
});

Deno.test("MessageRate: a clock that steps back takes no tokens away", () => {
  const rate = new MessageRate(100, 10, 60_000); // sessions spend by Date.now(): it may step back
  assert.equal(rate.spend(1, 59_000), true); // a second back: 9 left, not 9 − 100
  assert.equal(rate.spend(9, 59_000), true);
  assert.equal(rate.spend(1, 59_010), true); // refilled from the new time on
  assert.equal(rate.spend(1, 59_010), false);
});

Deno.test("limits: past maxConnections a new peer gets one e line and is closed, then a slot frees", async () => {
  await using logs = await captureRecords();
  await using server = await startServer({
    port: 0,
    name: "t",
    maxConnections: 2,
  });
  const port = server.addr.port;
  await using first = await RawPeer.greeted(port, "H1.1\nF1");
  await using second = await RawPeer.greeted(port);
  await first.roundTrip();
  await second.roundTrip();
  await using third = await RawPeer.connect(port);
  await third.send("H1.1\nF1\nTx\n"); // unread input must not reset the connection
  assert.deepEqual(await third.untilClosed(), [
    "elimit,Too many connections",
  ]);
  assertOneHit(logs.limitHits(), third.name, "maxConnections", 2);
  assert.match(
    logs.limitHits()[0]!.properties.reason as string,
    /maxConnections 2/,
  );

  await second.send("Tstill_served\n");
  assert.deepEqual(await first.roundTrip(), ["Tstill_served"]);
  second.close();
  await until(() => server.connectionCount === 1);
  await using fourth = await RawPeer.greeted(port);
  assert.deepEqual(await fourth.roundTrip(), []);
});

Deno.test("limits: a silent peer and a slow hello are closed after helloTimeoutMs, a prompt one is not", async () => {
  await using logs = await captureRecords();
  await using server = await startServer({
    port: 0,
    name: "t",
    helloTimeoutMs: 1_000, // wide enough that "prompt" is prompt on a busy machine
  });
  const port = server.addr.port;
  await using prompt = await RawPeer.greeted(port);
  await using silent = await RawPeer.connect(port);
  await using slow = await RawPeer.connect(port);
  await slow.send("H1."); // never finished
  for (const peer of [silent, slow]) {
    assert.match((await peer.readLine())!, /^H1\.2/);
    assert.deepEqual(await peer.untilClosed(), ["elimit,No hello in time"]);
    peer.close(); // the server half-closed and waits for ours
  }
  const hits = logs.limitHits();
  assert.deepEqual(hits.map((r) => r.properties.limit), [
    "helloTimeoutMs",
    "helloTimeoutMs",
  ]);
  assert.deepEqual(
    new Set(hits.map((r) => r.properties.peer)),
    new Set([silent.name, slow.name]),
  );
  assert.equal(hits[0]!.properties.value, 1_000);
  assert.deepEqual(await prompt.roundTrip(), []); // past the deadline, still open
  await until(() => server.connectionCount === 1);
});

Deno.test("limits: maxQueuedBytes cuts off a peer that does not read, with limit and value in the log", async () => {
  await using logs = await captureRecords();
  await using server = await startServer({
    port: 0,
    name: "t",
    maxQueuedBytes: 4096,
  });
  const port = server.addr.port;
  await using stalled = await RawPeer.greeted(port, "H1.1\nF1");
  await stalled.send("psync\n");
  await using sender = await RawPeer.greeted(port);
  const round = `T${"x".repeat(255)}\n`.repeat(63);
  for (let i = 0; logs.limitHits().length === 0; i++) {
    assert.ok(i < 20_000, "never cut off");
    await sender.send(round);
    await sender.roundTrip(String(i));
  }
  assertOneHit(logs.limitHits(), stalled.name, "maxQueuedBytes", 4096);
  assert.equal(
    logs.limitHits()[0]!.properties.reason,
    "Cannot queue output: over 4096 bytes",
  );
  assert.deepEqual(await sender.roundTrip("after"), []);
});

Deno.test("limits: a flood over maxMessagesPerSecond is told why and closed; a receiver stays served", async () => {
  await using logs = await captureRecords();
  await using server = await startServer({
    port: 0,
    name: "t",
    maxMessagesPerSecond: 100,
    messageBurst: 200,
  });
  const port = server.addr.port;
  await using receiver = await RawPeer.greeted(port, "H1.1\nF1");
  await receiver.roundTrip();
  await using polite = await RawPeer.greeted(port);
  await polite.send("Tpolite\n".repeat(150)); // within the burst
  assert.deepEqual(await polite.roundTrip(), []);
  await using flood = await RawPeer.greeted(port);
  await flood.send("Tflood\n".repeat(10_000)); // 50 times the burst in one go
  const lines = await flood.untilClosed();
  flood.close();
  assert.equal(
    lines.at(-1),
    "elimit,Too many messages: over 100 a second (burst 200)",
  );
  assertOneHit(logs.limitHits(), flood.name, "maxMessagesPerSecond", 100);

  await polite.send("Tafter\n");
  const seen = await receiver.roundTrip();
  assert.equal(seen.at(-1), "Tafter");
  assert.ok(seen.filter((line) => line === "Tflood").length <= 10_000);
  await until(() => server.connectionCount === 2);
});

Deno.test("limits: maxMessagesPerSecond 0 is no limit", async () => {
  await using logs = await captureRecords();
  await using server = await startServer({
    port: 0,
    name: "t",
    maxMessagesPerSecond: 0,
    messageBurst: 1,
  });
  await using peer = await RawPeer.greeted(server.addr.port);
  await peer.send("Tx\n".repeat(5_000));
  assert.deepEqual(await peer.roundTrip(), []);
  assert.deepEqual(logs.limitHits(), []);
});

Deno.test("limits: an s past maxSubscriptions fails with code limit; the same pattern again or after u is fine", async () => {
  await using logs = await captureRecords();
  await using server = await startServer({
    port: 0,
    name: "t",
    maxSubscriptions: 2,
  });
  await using peer = await RawPeer.greeted(server.addr.port, "H1.2\nF1");
  await peer.send("s1,a/*\ns2,b\n");
  assert.deepEqual(await peer.roundTrip(), ["r1", "r2"]);
  await peer.send("s3,c\ns4,a/*\n");
  assert.deepEqual(await peer.roundTrip(), [
    'x3,limit,Cannot subscribe to "c": over 2 subscriptions',
    "r4",
  ]);
  await peer.send("u5,b\ns6,c\n");
  assert.deepEqual(await peer.roundTrip(), ["r5", "r6"]);
  assertOneHit(logs.limitHits(), peer.name, "maxSubscriptions", 2);
  assert.match(logs.limitHits()[0]!.message.join(""), /subscription "c"/);
});

Deno.test("limits: a told peer that never closes is closed after CLOSE_LINGER_MS; a stop does not wait for it", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    helloTimeoutMs: 50,
  });
  await using stays = await RawPeer.connect(server.addr.port);
  assert.deepEqual((await stays.untilClosed()).slice(1), [
    "elimit,No hello in time",
  ]); // our side stays open: the server waits for our close, then gives up
  const toldMs = performance.now();
  await until(() => server.connectionCount === 0, CLOSE_LINGER_MS + 5_000);
  assert.ok(performance.now() - toldMs > CLOSE_LINGER_MS / 2, "closed early");

  await using lingering = await RawPeer.connect(server.addr.port);
  await lingering.untilClosed();
  assert.equal(server.connectionCount, 1);
  const stopMs = performance.now();
  await server.close();
  assert.ok(performance.now() - stopMs < CLOSE_LINGER_MS, "stop waited");
});

Deno.test("limits: em's client reports a full server as refused, with the server's reason", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    maxConnections: 1,
  });
  await using first = await connect({ port: server.addr.port });
  await first.flush();
  await assert.rejects(
    connect({ port: server.addr.port }),
    (error: EmError) => {
      assert.equal(error.code, "refused");
      assert.match(error.message, /Too many connections/);
      return true;
    },
  );
});

Deno.test("limits: a c past maxCallsInFlight fails with code limit until answers free the slots", async () => {
  await using logs = await captureRecords();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const slow = defineAgent({
    api: "slow",
    verbs: {
      wait: async () => {
        await gate;
        return "done";
      },
    },
  });
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [slow],
    maxCallsInFlight: 2,
  });
  await using peer = await RawPeer.greeted(server.addr.port, "H1.2");
  await peer.send("c1,slow/wait\nc2,slow/wait\nc3,slow/wait\n");
  assert.deepEqual(await peer.roundTrip(), [
    'x3,limit,Cannot call "slow/wait": over 2 calls in flight',
  ]);
  assertOneHit(logs.limitHits(), peer.name, "maxCallsInFlight", 2);
  release();
  await peer.send("c4,slow/wait\nc5,slow/wait\n");
  const answers: string[] = [];
  while (answers.length < 4) answers.push((await peer.readLine())!);
  assert.deepEqual(answers.sort(), [
    'r1,"done"',
    'r2,"done"',
    'r4,"done"',
    'r5,"done"',
  ]);
});

Deno.test("limits: em's client that floods past the message rate learns why its connection ended", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    maxMessagesPerSecond: 1,
    messageBurst: 20,
  });
  await using client = await connect({ port: server.addr.port });
  await client.flush();
  const sends = Array.from({ length: 100 }, () => client.trigger("flood"));
  await Promise.allSettled(sends);
  let ended: EmError | undefined; // a ping in the read that emptied the bucket is still answered
  for (let i = 0; i < 50 && ended === undefined; i++) {
    await client.flush().catch((error: EmError) => ended = error);
  }
  assert.equal(ended?.code, "refused");
  assert.match(ended!.message, /Too many messages: over 1 a second/);
});
