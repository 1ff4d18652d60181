import assert from "node:assert/strict";
import {
  FlowControl,
  GAP_FACTOR,
  STALL_MS,
} from "../../server/flow_control.ts";
import {
  afterFastReaders,
  backloggedReaders,
  HIGH,
  holdsSendersBack,
  KIB,
  ManualClock,
  queue,
  readSlowly,
  Receiver,
  wrote,
} from "./_flow_control_fixture.ts";

Deno.test("flow control: output under the high-water mark makes nobody wait", () => {
  const clock = new ManualClock();
  const flow = new FlowControl(HIGH, { clock });
  const receiver = new Receiver();
  queue(flow, receiver, HIGH);
  assert.equal(flow.paused, undefined);
  assert.equal(flow.pressure, 0);
  clock.advance(10 * STALL_MS);
  assert.equal(flow.paused, undefined);
});

Deno.test("flow control: a receiver that catches up, or closes, lets the senders go", async () => {
  const clock = new ManualClock();
  const flow = new FlowControl(HIGH, { clock });
  const [a, b] = backloggedReaders(flow, 2) as [Receiver, Receiver];
  const paused = flow.paused;
  assert.ok(paused !== undefined);
  wrote(flow, a, a.queuedBytes - HIGH / 2); // down to the low-water mark
  assert.equal(flow.paused, paused, "b still holds them back");
  b.isClosed = true;
  flow.progressed(b);
  assert.equal(flow.paused, undefined);
  await paused; // settled
  flow.stop();
});

Deno.test("flow control: a reader as slow as the other readers is not judged stalled", () => {
  const clock = new ManualClock();
  const flow = new FlowControl(HIGH, { clock });
  const readers = backloggedReaders(flow, 3);
  // Every reader shows progress only every 900 ms: that is how reading looks on this machine now.
  readSlowly(flow, clock, readers, { ms: 10_000, gapMs: 900 });
  // One of them is starved for twice that (its process got no CPU), then reads on.
  readSlowly(flow, clock, readers, {
    ms: 2 * 900,
    gapMs: 900,
    silent: [readers[0]!],
  });
  assert.ok(holdsSendersBack(flow, readers[0]!));
  readSlowly(flow, clock, readers, { ms: 5_000, gapMs: 900 });
  flow.stop();
});

Deno.test("flow control: a receiver that stops among slow readers is judged within GAP_FACTOR of their gaps", () => {
  const clock = new ManualClock();
  const flow = new FlowControl(HIGH, { clock });
  const readers = backloggedReaders(flow, 3);
  readSlowly(flow, clock, readers, { ms: 10_000, gapMs: 900 });
  const stopped = readers[0]!;
  // Its last progress was at most one gap ago; GAP_FACTOR gaps (and a tick) of silence after
  // that, it is no longer waited for, while the others are.
  readSlowly(flow, clock, readers, {
    ms: (GAP_FACTOR + 1) * 900 + 200,
    gapMs: 900,
    silent: [stopped],
  });
  assert.equal(holdsSendersBack(flow, stopped), false);
  assert.ok(holdsSendersBack(flow, readers[1]!));
  flow.stop();
});

Deno.test("flow control: before it has seen readers' gaps, the first verdict waits 3 × STALL_MS", () => {
  const clock = new ManualClock();
  const flow = new FlowControl(HIGH, { clock });
  const [stopped] = backloggedReaders(flow, 1) as [Receiver];
  clock.advance(GAP_FACTOR * STALL_MS - 200);
  assert.ok(holdsSendersBack(flow, stopped));
  clock.advance(400);
  assert.equal(flow.paused, undefined, "the senders go on");
});

Deno.test("flow control: a lone stopped receiver is judged after STALL_MS once readers kept up", () => {
  const clock = new ManualClock();
  const flow = new FlowControl(HIGH, { clock });
  afterFastReaders(flow, clock);
  const [stopped] = backloggedReaders(flow, 1) as [Receiver];
  clock.advance(STALL_MS - 200);
  assert.ok(holdsSendersBack(flow, stopped));
  clock.advance(400);
  assert.equal(flow.paused, undefined, "the senders go on");
  assert.equal(holdsSendersBack(flow, stopped), false);
});

Deno.test("flow control: a stopped receiver is judged even while the server itself is starved", () => {
  const clock = new ManualClock();
  const flow = new FlowControl(HIGH, { clock });
  afterFastReaders(flow, clock);
  const [stopped] = backloggedReaders(flow, 1) as [Receiver];
  // Every timer of the server fires 2 s late, for a minute: the verdict must still come.
  for (let i = 0; i < 30 && flow.paused !== undefined; i++) clock.starve(2_000);
  assert.equal(flow.paused, undefined, "never judged under starvation");
  assert.equal(holdsSendersBack(flow, stopped), false);
});

Deno.test("flow control: time the server itself was starved is not counted as a receiver's silence", () => {
  const clock = new ManualClock();
  const flow = new FlowControl(HIGH, { clock });
  const [reader] = backloggedReaders(flow, 1) as [Receiver];
  clock.advance(300);
  // The server gets no CPU for 5 s; its late timer fires before it handles the completed write.
  clock.starve(5 * STALL_MS);
  wrote(flow, reader, 50 * KIB);
  assert.ok(holdsSendersBack(flow, reader));
  flow.stop();
});

Deno.test("flow control: a receiver judged stalled that reads again holds the senders back again", () => {
  const clock = new ManualClock();
  const flow = new FlowControl(HIGH, { clock });
  afterFastReaders(flow, clock);
  const [starved] = backloggedReaders(flow, 1) as [Receiver];
  clock.advance(STALL_MS + 200);
  assert.equal(flow.paused, undefined, "judged stalled");
  wrote(flow, starved, 64 * KIB); // it was only starved: it reads again
  queue(flow, starved, 64 * KIB);
  assert.ok(flow.paused !== undefined);
  assert.ok(holdsSendersBack(flow, starved));
  flow.stop();
});

Deno.test("flow control: receivers silent together while nothing moves are judged later, but judged", () => {
  const clock = new ManualClock();
  const flow = new FlowControl(HIGH, { clock });
  afterFastReaders(flow, clock);
  const readers = backloggedReaders(flow, 4);
  // Four at once and no write completes anywhere: more likely a starved machine than four
  // receivers stopping together.
  clock.advance(2 * STALL_MS);
  for (const reader of readers) assert.ok(holdsSendersBack(flow, reader));
  clock.advance(3 * STALL_MS);
  assert.equal(flow.paused, undefined, "the senders are not held forever");
});
