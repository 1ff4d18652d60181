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

/** What flow control reads of a connection, and how it has a connection's limit enforced. */
export type Watched = Pick<
  Connection,
  "isClosed" | "queuedBytes" | "enforceLimit"
>;

/** Options of {@link FlowControl}. */
export interface FlowControlOptions {
  /**
   * Where time comes from.
   * @default {monotonicClock}
   */
  readonly clock?: FlowClock;
  /**
   * Bytes a suspect (a backlogged receiver silent for as long as a reader's longest recent gap)
   * may queue past the high-water mark, and past its connection's limit, without holding the
   * senders back, while the verdict on it is out. 0: a backlogged receiver holds the senders back
   * until it is judged.
   * @default {0}
   */
  readonly allowanceBytes?: number;
  /**
   * All suspects' allowances together at most: a suspect that would go past it gets what is
   * left, and one that gets nothing holds the senders back at once.
   * @default {0}
   */
  readonly budgetBytes?: number;
}

/** A receiver with more than the high-water mark queued, not (yet) judged stopped. */
interface Backlog {
  /** In ticks' time: since when no write of it completed. */
  silentSince: number;
  /** Silent for a reader's longest recent gap: it may have stopped, and has an allowance. */
  suspect: boolean;
  /** Whether output queued onto it makes the senders wait (false: a suspect within its allowance). */
  holding: boolean;
  /** Bytes it may queue past its connection's limit; taken from the budget. */
  grantBytes: number;
}

/**
 * Back-pressure from receivers to senders. While a receiver that keeps reading has more than its
 * high-water mark queued, a session whose input added to that queue pauses reading its peer (TCP
 * then slows the sender down), so a receiver a little slower than a pipelining sender is not cut
 * off at `maxQueuedBytes`. Sessions that only talk to the server (pings, subscriptions) go on.
 *
 * A backlogged receiver that stays silent (no write completed) for as long as the longest gap
 * that reading receivers showed recently ({@link stallMs} / {@link GAP_FACTOR}) becomes a
 * suspect until its next write completes: it may have stopped reading. Only while it is the only
 * receiver silent that long: several silent together look like a process (or machine) starved
 * of CPU, and they all hold the senders back, as without allowances. A suspect no longer holds
 * the senders back: it queues
 * privately, up to `allowanceBytes` past the high-water mark (and as far past its connection's
 * limit), for the rest of the verdict, with all grants together at most `budgetBytes` (granted
 * as the bytes are queued). A suspect whose write completes reads after all: it holds the
 * senders back again like any reader, and is never cut off for what it queued as a suspect (its
 * limit stays raised by what it holds past the high-water mark, shrinking as it drains). A
 * suspect that fills its allowance, or finds the budget spent, holds the senders back again
 * (budget freed later lets it go on). So memory stays bounded (`budgetBytes` beyond the
 * connections' limits) and a receiver that reads is never cut off. Receivers that read hold the
 * senders back from the start, as before: they pace the senders, so a sender faster than its
 * readers cannot bury their processes in data, and they rarely stay silent long enough to
 * become suspects.
 *
 * Why: while the verdict is out (seconds), holding every sender back for a receiver that turns
 * out to have stopped slows every other receiver for nothing; the senders waited only because
 * its bytes had nowhere else to go. Redis and NATS never hold publishers back for one subscriber:
 * they queue per subscriber up to a limit (Redis's pubsub output buffer: 32 MB hard, 8 MB for 60
 * s soft; NATS: 64 MB pending) and drop a subscriber past it, reading or not. em promises more (a
 * receiver that reads is never cut off) and keeps that promise with back-pressure; the allowance
 * only moves the bytes of a receiver not yet known to read from the senders' pause into memory.
 * emd leaves it off by default (`stallAllowanceBytes` 0): a receiver starved of CPU looks like
 * a stopped one until the verdict, and where it shares the machine with emd and the senders,
 * letting the senders go keeps it starved until it is judged (docs/PERFORMANCE.md).
 *
 * A backlogged receiver whose writes make no progress for long enough is judged stopped: it no
 * longer holds the others back, loses its allowance, and is cut off at `maxQueuedBytes` (at once
 * if it already holds more). "Long enough" is {@link STALL_MS}, or {@link GAP_FACTOR} times the longest recent gap between progress of
 * receivers that did go on reading, at most {@link MAX_STALL_MS}. Silence is measured in ticks
 * that count at most {@link MAX_TICK_CREDIT_MS} each (a late tick means this process was starved,
 * not the receiver), and slower while several receivers are silent and no write completes at all
 * (a starved machine). A judged receiver that shows progress again is waited for again.
 */
export class FlowControl implements OutputWatcher {
  #highWaterBytes: number;
  #clock: FlowClock;
  #allowanceBytes: number;
  #budgetBytes: number; // left to grant
  #congested = new Map<Watched, Backlog>(); // backlogged and waited for
  #holding = 0; // entries of #congested that make the senders wait
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
    this.#allowanceBytes = options.allowanceBytes ?? 0;
    this.#budgetBytes = options.budgetBytes ?? 0;
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
    let backlog = this.#congested.get(connection);
    if (backlog === undefined) {
      if (this.#congested.size === 0) this.#startTicking();
      backlog = {
        silentSince: this.#elapsedMs,
        suspect: false,
        holding: false,
        grantBytes: 0,
      };
      this.#congested.set(connection, backlog);
    }
    if (backlog.suspect && this.#withinAllowance(connection, backlog)) return;
    if (!backlog.holding) this.#hold(backlog);
    this.#pressure++;
  }

  progressed(connection: Watched): void {
    this.#movedAtMs = this.#elapsedMs;
    this.#stalled.delete(connection); // it reads after all (or closed): wait for it again
    const backlog = this.#congested.get(connection);
    if (backlog === undefined) return;
    if (!connection.isClosed) {
      this.#noteGap(this.#elapsedMs - backlog.silentSince);
    }
    const low = connection.isClosed ||
      connection.queuedBytes <= this.#highWaterBytes / 2;
    if (low) return this.#forget(connection, backlog);
    backlog.silentSince = this.#elapsedMs;
    backlog.suspect = false;
    // A reader: what it holds past the high-water mark is all it keeps of its grant.
    const keptBytes = Math.max(
      0,
      Math.min(
        backlog.grantBytes,
        connection.queuedBytes - this.#highWaterBytes,
      ),
    );
    this.#budgetBytes += backlog.grantBytes - keptBytes;
    backlog.grantBytes = keptBytes;
    if (!backlog.holding) this.#hold(backlog);
  }

  /**
   * Whether a connection may queue `overBytes` past its limit: a backlogged receiver may, within
   * what it was granted. The connection cuts itself off when not.
   */
  mayOverflow(connection: Watched, overBytes: number): boolean {
    const backlog = this.#congested.get(connection);
    return backlog !== undefined && overBytes <= backlog.grantBytes;
  }

  /** Bytes of the budget not granted to a receiver now. */
  get budgetLeftBytes(): number {
    return this.#budgetBytes;
  }

  /**
   * Whether a suspect's queue fits its grant, topped up from the budget as far as it needs (up to
   * the allowance); if it does, it holds nobody back.
   */
  #withinAllowance(connection: Watched, backlog: Backlog): boolean {
    const overBytes = connection.queuedBytes - this.#highWaterBytes;
    if (overBytes > backlog.grantBytes) {
      const moreBytes = Math.min(
        overBytes - backlog.grantBytes, // granted as used: the budget bounds the bytes held
        this.#allowanceBytes - backlog.grantBytes,
        this.#budgetBytes,
      );
      if (moreBytes > 0) {
        backlog.grantBytes += moreBytes;
        this.#budgetBytes -= moreBytes;
      }
      if (overBytes > backlog.grantBytes) return false;
    }
    if (backlog.holding) this.#unhold(backlog);
    return true;
  }

  #hold(backlog: Backlog): void {
    backlog.holding = true;
    if (this.#holding++ === 0) {
      this.#paused = new Promise((resolve) => this.#resume = resolve);
    }
  }

  #unhold(backlog: Backlog): void {
    backlog.holding = false;
    if (--this.#holding === 0) this.#release();
  }

  #forget(connection: Watched, backlog: Backlog): void {
    this.#congested.delete(connection);
    this.#budgetBytes += backlog.grantBytes;
    if (backlog.holding) this.#unhold(backlog);
    if (this.#congested.size === 0) this.#stopTicking();
  }

  /** Lets every sender go on, e.g. when the server stops. */
  stop(): void {
    for (const [connection, backlog] of this.#congested) {
      this.#forget(connection, backlog);
    }
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
    const judged: Watched[] = [];
    const silent: [Watched, Backlog][] = []; // for a reader's longest gap, not yet judged
    for (const [connection, backlog] of this.#congested) {
      const silentMs = this.#elapsedMs - backlog.silentSince;
      if (silentMs >= stallMs) {
        this.#stalled.add(connection);
        this.#forget(connection, backlog);
        judged.push(connection);
      } else if (silentMs >= stallMs / GAP_FACTOR) {
        silent.push([connection, backlog]);
      }
    }
    if (this.#allowanceBytes > 0) this.#suspect(silent);
    for (const connection of judged) connection.enforceLimit(); // past its limit: cut off now
    if (this.#congested.size > 0) {
      this.#cancelTick = this.#clock.after(TICK_MS, () => this.#tick());
    }
  }

  /**
   * A receiver silent for a reader's longest gap is a suspect only while it is the only one: a
   * process starved of CPU leaves many of its receivers silent together, and letting the senders
   * go then would starve it further. Suspects that are no longer alone hold the senders back
   * again (keeping what they were granted, so none is cut off for it).
   */
  #suspect(silent: [Watched, Backlog][]): void {
    if (silent.length === 1) {
      const [connection, backlog] = silent[0]!;
      backlog.suspect = true;
      // A new suspect, or budget freed since it filled up: it may stop holding the senders.
      if (backlog.holding) this.#withinAllowance(connection, backlog);
      return;
    }
    for (const [, backlog] of silent) {
      backlog.suspect = false;
      if (!backlog.holding) this.#hold(backlog);
    }
  }

  #stopTicking(): void {
    this.#cancelTick?.();
    this.#cancelTick = undefined;
  }

  #release(): void {
    const resume = this.#resume;
    this.#paused = this.#resume = undefined;
    resume?.();
  }
}
