import assert from "node:assert/strict";
import {
  type FlowClock,
  FlowControl,
  GAP_FACTOR,
  STALL_MS,
  type Watched,
} from "../../server/flow_control.ts";

const HIGH = 256 * 1024;
const KIB = 1024;

/** Time that moves only when told. */
class ManualClock implements FlowClock {
  #now = 0;
  #seq = 0;
  #timers: { at: number; seq: number; callback: () => void; live: boolean }[] =
    [];

  now(): number {
    return this.#now;
  }

  after(delayMs: number, callback: () => void): () => void {
    const timer = {
      at: this.#now + delayMs,
      seq: ++this.#seq,
      callback,
      live: true,
    };
    this.#timers.push(timer);
    return () => timer.live = false;
  }

  /** Moves time forward by `ms`, firing each timer at the moment it is due. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (let due = this.#next(end); due !== undefined; due = this.#next(end)) {
      this.#now = due.at;
      due.live = false;
      due.callback();
    }
    this.#now = end;
  }

  /** This process got no CPU for `ms`: time jumps, then the timers due by then fire, late. */
  starve(ms: number): void {
    this.#now += ms;
    for (
      let due = this.#next(this.#now);
      due !== undefined;
      due = this.#next(this.#now)
    ) {
      due.live = false;
      due.callback();
    }
  }

  #next(by: number) {
    this.#timers = this.#timers.filter((timer) => timer.live);
    return this.#timers.filter((timer) => timer.at <= by)
      .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
  }
}

/** A connection as flow control sees it: its queue and whether it is closed. */
class Receiver implements Watched {
  isClosed = false;
  queuedBytes = 0;
}

/** The server queued `bytes` for `receiver` (Connection.send). */
function queue(flow: FlowControl, receiver: Receiver, bytes: number): void {
  receiver.queuedBytes += bytes;
  if (receiver.queuedBytes > flow.highWaterBytes) flow.backlogged(receiver);
}

/** A write of `bytes` to `receiver` completed (the kernel took them: the peer read). */
function wrote(flow: FlowControl, receiver: Receiver, bytes: number): void {
  receiver.queuedBytes -= bytes;
  flow.progressed(receiver);
}

/** Whether output queued for this backlogged receiver still makes its senders wait. */
function holdsSendersBack(flow: FlowControl, receiver: Receiver): boolean {
  assert.ok(
    receiver.queuedBytes > flow.highWaterBytes,
    "probe a backlogged receiver",
  );
  const before = flow.pressure;
  flow.backlogged(receiver);
  return flow.pressure !== before && flow.paused !== undefined;
}

/**
 * Readers that each take 100 KiB every `gapMs` (staggered), kept backlogged: the way reading
 * receivers look from the server when the kernel wakes a writer only once a third of a large
 * send buffer is free. Runs for `ms` in 100 ms steps; `silent` readers take nothing.
 */
function readSlowly(
  flow: FlowControl,
  clock: ManualClock,
  readers: Receiver[],
  { ms, gapMs, silent = [] }: {
    ms: number;
    gapMs: number;
    silent?: Receiver[];
  },
): void {
  for (let t = 0; t < ms; t += 100) {
    clock.advance(100);
    readers.forEach((reader, i) => {
      if (silent.includes(reader)) return;
      const phase = Math.round(clock.now() + (i * gapMs) / readers.length);
      if (phase % gapMs >= 100) return;
      wrote(flow, reader, 100 * KIB);
      queue(flow, reader, 100 * KIB);
    });
    for (const reader of readers) {
      assert.ok(
        silent.includes(reader) || holdsSendersBack(flow, reader),
        `a reading receiver was judged stalled at ${clock.now()} ms`,
      );
    }
  }
}

/** The server has seen readers keep up for a while: nothing left of a slow spell or of its start. */
function afterFastReaders(flow: FlowControl, clock: ManualClock): void {
  const readers = backloggedReaders(flow, 2);
  readSlowly(flow, clock, readers, { ms: 150_000, gapMs: 100 });
  for (const reader of readers) wrote(flow, reader, reader.queuedBytes);
  assert.equal(flow.paused, undefined);
  assert.equal(flow.stallMs, STALL_MS);
}

function backloggedReaders(flow: FlowControl, count: number): Receiver[] {
  const readers = Array.from({ length: count }, () => new Receiver());
  for (const reader of readers) queue(flow, reader, HIGH + 300 * KIB);
  return readers;
}

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
