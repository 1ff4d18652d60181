import type { Connection, OutputWatcher } from "./connection.ts";

/**
 * A receiver whose queue has made no progress for this long stops holding the senders back. The
 * kernel wakes a blocked writer only once about half its send buffer (up to 4 MiB here) is free,
 * and a reading receiver on a loaded machine can go 500 ms without visible progress (the stall
 * benchmark's reading receivers were cut at 500 ms, never at 1 s): this is the longest pause one
 * stalled receiver can cost the senders.
 */
export const STALL_MS = 1000;

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
  #congested = new Set<Connection>(); // past high water and still making progress
  #stalled = new WeakSet<Connection>(); // past high water without progress: not waited for
  #progressMs = new WeakMap<Connection, number>();
  #paused: Promise<void> | undefined;
  #resume: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pressure = 0;
  #checkedMs = 0; // when the stall timer was set

  /** @param highWaterBytes queued bytes above which a receiver holds the senders back */
  constructor(highWaterBytes: number) {
    this.#highWaterBytes = highWaterBytes;
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

  backlogged(connection: Connection): void {
    if (this.#stalled.has(connection)) return;
    this.#pressure++;
    if (this.#congested.has(connection)) return;
    this.#congested.add(connection);
    this.#progressMs.set(connection, performance.now());
    if (this.#paused !== undefined) return;
    this.#paused = new Promise((resolve) => this.#resume = resolve);
    this.#check(performance.now());
  }

  progressed(connection: Connection): void {
    const low = connection.isClosed ||
      connection.queuedBytes <= this.#highWaterBytes / 2;
    if (low) this.#stalled.delete(connection);
    if (!this.#congested.has(connection)) return;
    if (!low) return void this.#progressMs.set(connection, performance.now());
    this.#congested.delete(connection);
    if (this.#congested.size === 0) this.#release();
  }

  /** Lets every sender go on, e.g. when the server stops. */
  stop(): void {
    this.#congested.clear();
    this.#release();
  }

  #findStalled(): void {
    const now = performance.now();
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
    this.#timer = setTimeout(() => this.#findStalled(), STALL_MS);
  }

  #release(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const resume = this.#resume;
    this.#paused = this.#resume = undefined;
    resume?.();
  }
}
