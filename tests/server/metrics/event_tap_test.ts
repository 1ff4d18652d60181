// The event tap behind `emstat --events` and the dashboard: idle without listeners, bounded per
// batch, who sent what to how many; and emd/watch delivering it to a real client.
import assert from "node:assert/strict";
import { connect } from "../../../client/mod.ts";
import { startServer } from "../../../server/mod.ts";
import {
  EventTap,
  TAP_MAX_PER_BATCH,
  type TapBatch,
} from "../../../server/metrics/event_tap.ts";
import type { Counters } from "../../../server/metrics/counters.ts";
import type { ServerStats } from "../../../server/metrics/stats.ts";
import { RawPeer } from "../../_helpers/wire.ts";

const encoder = new TextEncoder();

/** The next batch a listener of `tap` gets. */
function nextBatch(tap: EventTap): { batch: Promise<TapBatch> } & Disposable {
  let resolve!: (batch: TapBatch) => void;
  const batch = new Promise<TapBatch>((r) => resolve = r);
  const listening = tap.listen((b) => resolve(b));
  return { batch, [Symbol.dispose]: () => listening[Symbol.dispose]() };
}

Deno.test("event tap: inactive without listeners, active with one, inactive after", () => {
  const tap = new EventTap();
  assert.equal(tap.active, false);
  const listening = tap.listen(() => {});
  assert.equal(tap.active, true);
  listening[Symbol.dispose]();
  assert.equal(tap.active, false);
});

Deno.test("event tap: a batch lists the latest events up to its bound and counts the earlier as skipped", async () => {
  const tap = new EventTap();
  using next = nextBatch(tap);
  tap.plain(encoder.encode("Ta\nTb\n".repeat(TAP_MAX_PER_BATCH)), "p", 2);
  tap.data("x/y", '"z"', "agent:x", 1);
  tap.data("emd/stats", "{}", "agent:emd", 1); // emd's own: never shown
  const batch = await next.batch;
  assert.equal(batch.events.length, TAP_MAX_PER_BATCH);
  assert.equal(batch.skipped, TAP_MAX_PER_BATCH + 1);
  assert.deepEqual( // the latest, oldest first
    batch.events.map((event) => event.name).slice(-4),
    ["b", "a", "b", "x/y"],
  );
  assert.deepEqual(
    { ...batch.events[0]!, atMs: 0 },
    { name: "b", bytes: 0, from: "p", receivers: 2, atMs: 0 },
  );
});

Deno.test("event tap: a preview keeps 80 characters of the data", async () => {
  const tap = new EventTap();
  using next = nextBatch(tap);
  const json = JSON.stringify({ text: "y".repeat(100) });
  tap.data("x/y", json, "agent:x", 1);
  const [event] = (await next.batch).events;
  assert.equal(event?.bytes, json.length);
  assert.equal(event?.preview, json.slice(0, 79) + "…");
});

Deno.test("event tap: plain, with data, latched and agent events, each with its sender", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const { tap } = (server as unknown as { counters: Counters }).counters;
  await using receiver = await connect({
    port: server.addr.port,
    receive: true,
  });
  await using sender = await RawPeer.greeted(server.addr.port, "H1.2");
  await receiver.flush();
  using next = nextBatch(tap);
  await sender.send('Tplain\nt1,with_data,{"a":1}\nl2,latched\n');
  await sender.roundTrip();
  const batch = await next.batch;
  assert.deepEqual(
    batch.events.map(({ name, bytes, preview, from, receivers }) => ({
      name,
      bytes,
      preview,
      from,
      receivers,
    })),
    [
      {
        name: "plain",
        bytes: 0,
        preview: undefined,
        from: sender.name,
        receivers: 1,
      },
      {
        name: "with_data",
        bytes: 7,
        preview: '{"a":1}',
        from: sender.name,
        receivers: 1,
      },
      {
        name: "latched",
        bytes: 0,
        preview: undefined,
        from: sender.name,
        receivers: 1,
      },
    ],
  );
});

Deno.test("emd/watch: a client gets the report at once, then emd/events and emd/stats", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using watcher = await connect({
    port: server.addr.port,
    receive: true,
  });
  await using sender = await connect({ port: server.addr.port });
  const events = watcher.events("emd/*");
  const first = await watcher.call("emd/watch") as unknown as ServerStats;
  assert.equal(first.server.name, "t");
  assert.equal(first.connections.peers?.length, 2);
  await sender.trigger("hello_world");
  const seen = new Set<string>();
  for await (const { name, data } of events) {
    seen.add(name);
    if (name === "emd/events") {
      const batch = data as unknown as TapBatch;
      assert.equal(batch.events[0]?.name, "hello_world");
    }
    if (seen.size === 2) break;
  }
  assert.deepEqual([...seen].sort(), ["emd/events", "emd/stats"]);
});

Deno.test("emd/watch: a connection that does not receive is told cannot-receive", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using client = await connect({ port: server.addr.port });
  await assert.rejects(client.call("emd/watch"), { failure: "cannot-receive" });
});
