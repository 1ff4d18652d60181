import type { Connection, OutputWatcher } from "./connection.ts";

/**
 * The shortest silence (no write completed) after which a backlogged receiver is judged stopped
 * and stops holding the senders back. It waits longer when reading receivers have recently shown
 * longer gaps than a third of this: see {@link GAP_FACTOR}.
 */
export const STALL_MS = 1000;

/**
 * How many times the longest recent gap between two completed writes of a reading, backlogged
 * receiver a silence must last to be a stall. The kernel wakes a blocked writer only once about a
 * third of the send buffer (up to 4 MiB here) is free, so a receiver that reads slowly, or whose
 * process is starved of CPU, shows progress only every so often; how often, the server learns
 * from the receivers that do go on reading.
 */
export const GAP_FACTOR = 3;

/** The longest silence waited for, however slow the readers have been. */
export const MAX_STALL_MS = 10_000;

const TICK_MS = 100; // how often silences are measured while a receiver holds senders back
/** A tick counts at most this much time: a timer that fires later means the server was starved. */
const MAX_TICK_CREDIT_MS = 2 * TICK_MS;
/**
 * Several receivers backlogged and not one write completed anywhere for longer than a reader's
 * recent gap (the machine, not a receiver, seems stuck): time counts this many times slower.
 */
const CROWD_SLOWDOWN = 4;
/** Counted in ticks' time (while some receiver is backlogged): a slow spell is forgotten gradually. */
const GAP_HALF_LIFE_MS = 30_000;
/**
 * What a server that has not yet seen readers' gaps assumes: a fresh receiver's socket buffers are
 * small and grow only as it reads, and the first gaps of a loaded machine can reach 1.7 s.
 */
const FIRST_GAP_MS = STALL_MS;

/** Time as flow control sees it: injectable, so tests can starve a receiver without sleeping. */
export interface FlowClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Calls `callback` once, `delayMs` from now; returns a function that cancels it. */
  after(delayMs: number, callback: () => void): () => void;
}

/** `performance.now()` and `setTimeout`. */
export const monotonicClock: FlowClock = Object.freeze({
  now: () => performance.now(),
  after(delayMs: number, callback: () => void): () => void {
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
});

/** What flow control reads of a connection. */
export type Watched = Pick<Connection, "isClosed" | "queuedBytes">;

/** Options of {@link FlowControl}. */
export interface FlowControlOptions {
  /**
   * Where time comes from.
   * @default {monotonicClock}
   */
  readonly clock?: FlowClock;
}

/**
 * Back-pressure from receivers to senders. While a receiver that keeps reading has more than its
 * high-water mark queued, a session whose input added to that queue pauses reading its peer (TCP
 * then slows the sender down), so a receiver a little slower than a pipelining sender is not cut
 * off at `maxQueuedBytes`. Sessions that only talk to the server (pings, subscriptions) go on.
 *
 * A backlogged receiver whose writes make no progress for long enough is judged stopped: it no
 * longer holds the others back, fills up to `maxQueuedBytes` and is cut off there. "Long enough"
 * is {@link STALL_MS}, or {@link GAP_FACTOR} times the longest recent gap between progress of
 * receivers that did go on reading, at most {@link MAX_STALL_MS}. Silence is measured in ticks
 * that count at most {@link MAX_TICK_CREDIT_MS} each (a late tick means this process was starved,
 * not the receiver), and slower while several receivers are silent and no write completes at all
 * (a starved machine). A judged receiver that shows progress again is waited for again.
 */
export class FlowControl implements OutputWatcher {
  #highWaterBytes: number;
  #clock: FlowClock;
  #congested = new Map<Watched, number>(); // backlogged and waited for → silent since (ticks' ms)
  #stalled = new WeakSet<Watched>(); // judged stopped: not waited for until it progresses
  #paused: Promise<void> | undefined;
  #resume: (() => void) | undefined;
  #cancelTick: (() => void) | undefined;
  #pressure = 0;
  #elapsedMs = 0; // time as the ticks count it
  #tickedAtMs = 0; // the clock's time at the last tick
  #movedAtMs = 0; // in ticks' time: when a write last completed anywhere
  #gapMs = FIRST_GAP_MS; // the longest recent gap between progress of a backlogged receiver
  #gapNotedAtMs = 0; // in ticks' time

  /**
   * @param highWaterBytes queued bytes above which a receiver holds the senders back
   * @param options where time comes from
   */
  constructor(highWaterBytes: number, options: FlowControlOptions = {}) {
    this.#highWaterBytes = highWaterBytes;
    this.#clock = options.clock ?? monotonicClock;
  }

  /** The high-water mark connections report {@link backlogged} past. */
  get highWaterBytes(): number {
    return this.#highWaterBytes;
  }

  /** Settles when senders may read again; undefined when they need not wait. */
  get paused(): Promise<void> | undefined {
    return this.#paused;
  }

  /** Counts output queued onto backlogged receivers: a session whose input moved it pauses. */
  get pressure(): number {
    return this.#pressure;
  }

  backlogged(connection: Watched): void {
    if (this.#stalled.has(connection)) return;
    this.#pressure++;
    if (this.#congested.has(connection)) return;
    if (this.#congested.size === 0) this.#startTicking();
    this.#congested.set(connection, this.#elapsedMs);
    this.#paused ??= new Promise((resolve) => this.#resume = resolve);
  }

  progressed(connection: Watched): void {
    this.#movedAtMs = this.#elapsedMs;
    this.#stalled.delete(connection); // it reads after all (or closed): wait for it again
    const silentSince = this.#congested.get(connection);
    if (silentSince === undefined) return;
    if (!connection.isClosed) this.#noteGap(this.#elapsedMs - silentSince);
    const low = connection.isClosed ||
      connection.queuedBytes <= this.#highWaterBytes / 2;
    if (!low) return void this.#congested.set(connection, this.#elapsedMs);
    this.#congested.delete(connection);
    if (this.#congested.size === 0) this.#release();
  }

  /** Lets every sender go on, e.g. when the server stops. */
  stop(): void {
    this.#congested.clear();
    this.#release();
  }

  /** How long a backlogged receiver must be silent to be judged stopped, now. */
  get stallMs(): number {
    return Math.min(
      MAX_STALL_MS,
      Math.max(STALL_MS, GAP_FACTOR * this.#recentGapMs()),
    );
  }

  #recentGapMs(): number {
    const age = this.#elapsedMs - this.#gapNotedAtMs;
    return this.#gapMs * 0.5 ** (age / GAP_HALF_LIFE_MS);
  }

  #noteGap(gapMs: number): void {
    this.#gapMs = Math.max(gapMs, this.#recentGapMs());
    this.#gapNotedAtMs = this.#elapsedMs;
  }

  #startTicking(): void {
    this.#tickedAtMs = this.#clock.now();
    this.#cancelTick = this.#clock.after(TICK_MS, () => this.#tick());
  }

  #tick(): void {
    const now = this.#clock.now();
    let creditMs = Math.min(now - this.#tickedAtMs, MAX_TICK_CREDIT_MS);
    const stillMs = this.#elapsedMs - this.#movedAtMs;
    if (this.#congested.size > 1 && stillMs >= this.#recentGapMs()) {
      creditMs /= CROWD_SLOWDOWN; // nothing moved for longer than a reader's gap: all starved?
    }
    this.#elapsedMs += creditMs;
    this.#tickedAtMs = now;
    const stallMs = this.stallMs;
    for (const [connection, silentSince] of this.#congested) {
      if (this.#elapsedMs - silentSince < stallMs) continue;
      this.#congested.delete(connection);
      this.#stalled.add(connection);
    }
    if (this.#congested.size === 0) return this.#release();
    this.#cancelTick = this.#clock.after(TICK_MS, () => this.#tick());
  }

  #release(): void {
    this.#cancelTick?.();
    this.#cancelTick = undefined;
    const resume = this.#resume;
    this.#paused = this.#resume = undefined;
    resume?.();
  }
}
