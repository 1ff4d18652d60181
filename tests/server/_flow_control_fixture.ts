// What the flow control tests share (flow_control_test, flow_control_allowance_test): a clock that
// moves only when told, receivers as flow control sees them, and readers of a given pace.
import assert from "node:assert/strict";
import {
  type FlowClock,
  type FlowControl,
  STALL_MS,
  type Watched,
} from "../../server/flow_control.ts";

export const HIGH = 256 * 1024;
export const LIMIT = 4 * HIGH; // the connection's maxQueuedBytes, as emd sets the high-water mark
export const KIB = 1024;
export const MIB = 1024 * KIB;

/** Time that moves only when told. */
export class ManualClock implements FlowClock {
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
export class Receiver implements Watched {
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
export function queue(
  flow: FlowControl,
  receiver: Receiver,
  bytes: number,
): void {
  receiver.flow = flow;
  if (receiver.isClosed) return;
  if (receiver.overLimit(receiver.queuedBytes + bytes)) return;
  receiver.queuedBytes += bytes;
  if (receiver.queuedBytes > flow.highWaterBytes) flow.backlogged(receiver);
}

/** A write of `bytes` to `receiver` completed (the kernel took them: the peer read). */
export function wrote(
  flow: FlowControl,
  receiver: Receiver,
  bytes: number,
): void {
  receiver.queuedBytes -= bytes;
  flow.progressed(receiver);
}

/** Whether output queued for this backlogged receiver still makes its senders wait. */
export function holdsSendersBack(
  flow: FlowControl,
  receiver: Receiver,
): boolean {
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
export function readSlowly(
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
export function afterFastReaders(flow: FlowControl, clock: ManualClock): void {
  const readers = backloggedReaders(flow, 2);
  readSlowly(flow, clock, readers, { ms: 150_000, gapMs: 100 });
  for (const reader of readers) wrote(flow, reader, reader.queuedBytes);
  assert.equal(flow.paused, undefined);
  assert.equal(flow.stallMs, STALL_MS);
}

export function backloggedReaders(
  flow: FlowControl,
  count: number,
): Receiver[] {
  const readers = Array.from({ length: count }, () => new Receiver());
  for (const reader of readers) queue(flow, reader, HIGH + 300 * KIB);
  return readers;
}
