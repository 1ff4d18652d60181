import assert from "node:assert/strict";
import {
  type FlowClock,
  FlowControl,
  GAP_FACTOR,
  STALL_MS,
  type Watched,
} from "../../server/flow_control.ts";

const HIGH = 256 * 1024;
const LIMIT = 4 * HIGH; // the connection's maxQueuedBytes, as emd sets the high-water mark
const KIB = 1024;
const MIB = 1024 * KIB;

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

/** A connection as flow control sees it: its queue, whether it is closed, its limit. */
class Receiver implements Watched {
  isClosed = false;
  queuedBytes = 0;
  /** Cut off for its queue (Connection closes with "Cannot queue output"). */
  cut = false;
  flow: FlowControl | undefined;

  /** Connection.enforceLimit: over LIMIT and not let by flow control → cut off. */
  enforceLimit(): void {
    if (this.isClosed || this.queuedBytes <= LIMIT) return;
    this.#overLimit(this.queuedBytes);
  }

  /** Connection's check before queuing: true when it was cut off. */
  overLimit(queuedBytes: number): boolean {
    return queuedBytes > LIMIT && this.#overLimit(queuedBytes);
  }

  #overLimit(queuedBytes: number): boolean {
    if (this.flow?.mayOverflow?.(this, queuedBytes - LIMIT)) return false;
    this.isClosed = this.cut = true;
    this.flow?.progressed(this);
    return true;
  }
}

/** The server queued `bytes` for `receiver` (Connection.send): cut off past its limit. */
function queue(flow: FlowControl, receiver: Receiver, bytes: number): void {
  receiver.flow = flow;
  if (receiver.isClosed) return;
  if (receiver.overLimit(receiver.queuedBytes + bytes)) return;
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

/** Flow control as emd builds it: suspects get an allowance, within a budget. */
function withAllowance(
  clock: ManualClock,
  allowanceBytes = 8 * MIB,
  budgetBytes = 2 * allowanceBytes,
): FlowControl {
  return new FlowControl(HIGH, { clock, allowanceBytes, budgetBytes });
}

/** Queues `bytes` onto `receiver` in 64 KiB frames, as a fan-out does. */
function flood(flow: FlowControl, receiver: Receiver, bytes: number): void {
  for (let left = bytes; left > 0; left -= 64 * KIB) {
    queue(flow, receiver, Math.min(left, 64 * KIB));
  }
}

/** Bytes the receivers hold past their connections' limit: what the budget bounds. */
function pastLimits(receivers: Receiver[]): number {
  let bytes = 0;
  for (const r of receivers) {
    if (!r.isClosed) bytes += Math.max(0, r.queuedBytes - LIMIT);
  }
  return bytes;
}

/** `receiver` falls behind (it holds the senders back) and stays silent for a reader's longest gap. */
function suspect(
  flow: FlowControl,
  clock: ManualClock,
  ...receivers: Receiver[]
): void {
  for (const receiver of receivers) queue(flow, receiver, HIGH + 64 * KIB);
  assert.ok(
    flow.paused !== undefined,
    "falling behind, it holds the senders back at first",
  );
  clock.advance(flow.stallMs / GAP_FACTOR + 100);
}

Deno.test("flow control: with allowances, receivers that fall behind and read hold the senders back, as without", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const readers = backloggedReaders(flow, 3);
  // Readers slower than the senders: they pace them, or the senders bury them in data.
  assert.ok(flow.paused !== undefined);
  readSlowly(flow, clock, readers, { ms: 10_000, gapMs: 300 });
  for (const reader of readers) assert.ok(holdsSendersBack(flow, reader));
  assert.equal(
    flow.budgetLeftBytes,
    16 * MIB,
    "no reader was granted anything",
  );
  flow.stop();
});

Deno.test("flow control: a receiver silent for a reader's longest gap holds nobody back within its allowance, and is still judged", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const stopped = new Receiver();
  suspect(flow, clock, stopped); // 1 s on a fresh server: a third of the verdict
  assert.equal(flow.paused, undefined, "the senders go on");
  const pressure = flow.pressure;
  flood(flow, stopped, 4 * MIB); // four times its connection's limit
  assert.equal(flow.paused, undefined);
  assert.equal(flow.pressure, pressure, "its output makes nobody wait");
  assert.equal(stopped.cut, false, "not cut off while the verdict is out");
  // The verdict comes as without allowances (3 × STALL_MS on a fresh server), and cuts it off.
  clock.advance(GAP_FACTOR * STALL_MS - STALL_MS - 400);
  assert.equal(stopped.cut, false);
  clock.advance(400);
  assert.equal(
    stopped.cut,
    true,
    "judged stopped: cut off, it holds more than its limit",
  );
  assert.equal(
    flow.budgetLeftBytes,
    16 * MIB,
    "its grant went back to the budget",
  );
});

Deno.test("flow control: a suspect that reads after holding more than its limit holds the senders back again and is never cut off", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const readers = backloggedReaders(flow, 2);
  readSlowly(flow, clock, readers, { ms: 10_000, gapMs: 900 });
  // A receiver falls behind and gets no CPU for two of the readers' gaps: a suspect…
  const starved = new Receiver();
  queue(flow, starved, HIGH + 64 * KIB);
  readSlowly(flow, clock, readers, { ms: 2 * 900, gapMs: 900 });
  flood(flow, starved, 3 * MIB);
  assert.equal(holdsSendersBack(flow, starved), false);
  assert.equal(starved.cut, false);
  // …then reads on, slowly: from its first completed write it holds the senders back.
  wrote(flow, starved, 100 * KIB);
  assert.ok(holdsSendersBack(flow, starved));
  const all = [...readers, starved];
  readSlowly(flow, clock, all, { ms: 20_000, gapMs: 900 });
  assert.equal(starved.cut, false, "a reader was cut off");
  for (const reader of all) wrote(flow, reader, reader.queuedBytes);
  assert.equal(flow.paused, undefined);
  assert.equal(flow.budgetLeftBytes, 16 * MIB, "every grant went back");
});

Deno.test("flow control: a suspect that fills its allowance holds the senders back until it is judged, then is cut off", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock, 2 * MIB);
  const stopped = new Receiver();
  suspect(flow, clock, stopped);
  flood(flow, stopped, 2 * MIB - 64 * KIB); // its whole allowance
  assert.equal(flow.paused, undefined);
  queue(flow, stopped, 64 * KIB); // past it
  assert.ok(flow.paused !== undefined, "from now on it holds the senders back");
  assert.ok(holdsSendersBack(flow, stopped));
  // The senders' reads in flight still reach it: the usual room between the marks, not a cut.
  flood(flow, stopped, LIMIT - HIGH - 128 * KIB);
  assert.equal(stopped.cut, false);
  clock.advance(GAP_FACTOR * STALL_MS);
  assert.equal(flow.paused, undefined, "judged: the senders go on");
  assert.equal(stopped.cut, true);
});

Deno.test("flow control: the budget bounds what a suspect holds; past it, it holds the senders back and is cut off at its limit and grant", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock, 4 * MIB, MIB);
  const stopped = new Receiver();
  suspect(flow, clock, stopped);
  flood(flow, stopped, MIB - 64 * KIB); // all of the budget, a quarter of its allowance
  assert.equal(flow.paused, undefined);
  assert.equal(flow.budgetLeftBytes, 0);
  queue(flow, stopped, 64 * KIB);
  assert.ok(
    flow.paused !== undefined,
    "the budget is spent: it holds the senders back",
  );
  for (let i = 0; i < 100 && !stopped.cut; i++) {
    queue(flow, stopped, 64 * KIB);
    assert.ok(pastLimits([stopped]) <= MIB, `${pastLimits([stopped])} bytes`);
  }
  assert.equal(stopped.cut, true, "cut off past its limit and grant");
  assert.equal(flow.paused, undefined);
  assert.equal(flow.budgetLeftBytes, MIB);
});

Deno.test("flow control: a suspect that found the budget spent stops holding the senders back once some is freed", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock, 2 * MIB, 2 * MIB);
  const [a, b] = [new Receiver(), new Receiver()];
  suspect(flow, clock, a);
  flood(flow, a, 2 * MIB - 64 * KIB); // all of the budget
  wrote(flow, a, 64 * KIB); // a reads after all: it holds the senders back, keeps its grant
  queue(flow, b, HIGH + 64 * KIB);
  for (let ms = 0; ms < STALL_MS + 200; ms += 100) { // b alone is silent
    clock.advance(100);
    wrote(flow, a, 1);
  }
  flood(flow, b, 512 * KIB); // more than the budget has left
  assert.ok(holdsSendersBack(flow, b), "nothing left for b");
  wrote(flow, a, a.queuedBytes); // a catches up: its grant goes back
  clock.advance(200); // the next tick hands it to b
  assert.equal(flow.paused, undefined, "b still holds the senders back");
  flood(flow, b, MIB);
  assert.equal(flow.paused, undefined);
  assert.equal(b.cut, false);
  flow.stop();
});

Deno.test("flow control: receivers silent together are not suspects: they hold the senders back, as without allowances", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const [a, b] = [new Receiver(), new Receiver()];
  queue(flow, a, HIGH + 64 * KIB);
  queue(flow, b, HIGH + 64 * KIB);
  // A starved process leaves many receivers silent at once: letting the senders go would
  // starve it further.
  for (let ms = 0; ms < 2 * STALL_MS; ms += 100) {
    clock.advance(100);
    assert.ok(holdsSendersBack(flow, a) && holdsSendersBack(flow, b));
  }
  wrote(flow, b, 64 * KIB); // b reads: a alone is silent now
  clock.advance(200);
  assert.equal(holdsSendersBack(flow, a), false, "a alone: a suspect");
  flow.stop();
});

Deno.test("flow control: with allowances, a receiver that stops among readers is judged on time and cut off; the readers are not", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const readers = backloggedReaders(flow, 3);
  readSlowly(flow, clock, readers, { ms: 10_000, gapMs: 300 });
  const stopped = new Receiver();
  queue(flow, stopped, HIGH + 64 * KIB);
  const stallMs = flow.stallMs;
  readSlowly(flow, clock, readers, {
    ms: stallMs / GAP_FACTOR + 200,
    gapMs: 300,
  });
  assert.equal(holdsSendersBack(flow, stopped), false, "a suspect");
  flood(flow, stopped, 2 * MIB); // it takes this without a cut
  readSlowly(flow, clock, readers, {
    ms: stallMs - (stallMs / GAP_FACTOR + 200) - 300,
    gapMs: 300,
  });
  assert.equal(stopped.cut, false, "cut off before the verdict");
  readSlowly(flow, clock, readers, { ms: 600, gapMs: 300 });
  assert.equal(stopped.cut, true, "not judged after the verdict");
  assert.ok(readers.every((reader) => !reader.cut));
  for (const reader of readers) assert.ok(holdsSendersBack(flow, reader));
  flow.stop();
});

Deno.test("flow control: a receiver judged stopped below its limit is not cut off until it passes it", () => {
  const clock = new ManualClock();
  const flow = withAllowance(clock);
  const stopped = new Receiver();
  flood(flow, stopped, HIGH + 128 * KIB);
  clock.advance(GAP_FACTOR * STALL_MS + 200);
  assert.equal(stopped.cut, false);
  flood(flow, stopped, LIMIT - stopped.queuedBytes);
  assert.equal(stopped.cut, false);
  queue(flow, stopped, 1);
  assert.equal(stopped.cut, true, "no allowance left once judged");
  assert.equal(flow.paused, undefined);
});
