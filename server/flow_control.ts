import type { Connection, OutputWatcher } from "./connection.ts";

/**
 * A receiver whose queue has made no progress for this long stops holding the senders back. The
 * kernel wakes a blocked writer only once about half its send buffer (up to 4 MiB here) is free,
 * and a reading receiver on a loaded machine can go 500 ms without visible progress (the stall
 * benchmark's reading receivers were cut at 500 ms, never at 1 s): this is the longest pause one
 * stalled receiver can cost the senders.
 */
export const STALL_MS = 1000;

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
 * A receiver whose writes make no progress for {@link STALL_MS} stops holding the others back: it
 * fills up to `maxQueuedBytes` and is cut off there, as before.
 */
export class FlowControl implements OutputWatcher {
  #highWaterBytes: number;
  #clock: FlowClock;
  #congested = new Set<Watched>(); // past high water and still making progress
  #stalled = new WeakSet<Watched>(); // past high water without progress: not waited for
  #progressMs = new WeakMap<Watched, number>();
  #paused: Promise<void> | undefined;
  #resume: (() => void) | undefined;
  #cancelTimer: (() => void) | undefined;
  #pressure = 0;
  #checkedMs = 0; // when the stall timer was set

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
    this.#congested.add(connection);
    this.#progressMs.set(connection, this.#clock.now());
    if (this.#paused !== undefined) return;
    this.#paused = new Promise((resolve) => this.#resume = resolve);
    this.#check(this.#clock.now());
  }

  progressed(connection: Watched): void {
    const low = connection.isClosed ||
      connection.queuedBytes <= this.#highWaterBytes / 2;
    if (low) this.#stalled.delete(connection);
    if (!this.#congested.has(connection)) return;
    if (!low) return void this.#progressMs.set(connection, this.#clock.now());
    this.#congested.delete(connection);
    if (this.#congested.size === 0) this.#release();
  }

  /** Lets every sender go on, e.g. when the server stops. */
  stop(): void {
    this.#congested.clear();
    this.#release();
  }

  #findStalled(): void {
    const now = this.#clock.now();
    if (now - this.#checkedMs > 1.5 * STALL_MS) { // this process was starved, not the receivers
      return this.#check(now);
    }
    for (const connection of this.#congested) {
      if (now - this.#progressMs.get(connection)! >= STALL_MS) {
        this.#congested.delete(connection);
        this.#stalled.add(connection);
      }
    }
    if (this.#congested.size === 0) return this.#release();
    this.#check(now);
  }

  #check(now: number): void {
    this.#checkedMs = now;
    this.#cancelTimer = this.#clock.after(STALL_MS, () => this.#findStalled());
  }

  #release(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    const resume = this.#resume;
    this.#paused = this.#resume = undefined;
    resume?.();
  }
}
