import type { BusLog } from "./bus.ts";
import {
  barrierNeedsWork,
  type BarrierRecord,
  dropIn,
  leaveIn,
  needsWork,
  type SemaphoreRecord,
} from "./hold_records.ts";
import { type HoldCache, isSemaphoreKey, nodeOf } from "./hold_cache.ts";
import type { HoldWriter } from "./hold_writer.ts";

/** What {@link HoldUpkeep} needs of the node's holds. */
export interface UpkeepHost {
  /** This node incarnation, `<node id>/<random>`. */
  readonly self: string;
  /** True while the link to NATS is up. */
  connected(): boolean;
  /** The node's heartbeat period. */
  readonly heartbeatMs: number;
  /** Where failures nobody asked about are logged. */
  readonly log: BusLog;
  /** The keys this node's waiters wait on. */
  waitedKeys(): Iterable<string>;
  /** Cut off too long: tell every connection that holds or waits through this node. */
  fence(): void;
}

/**
 * The holds' upkeep, 4 times per heartbeat (at most every 250 ms): the link's state (cut off for
 * two heartbeats: fenced; back: the watch restarted), leftover cleanups of closed connections,
 * sweeps (expired leases, free queue heads, records of gone nodes and of this node's earlier
 * incarnations) and, once per heartbeat, a read of the records waiters wait on.
 */
export class HoldUpkeep {
  #host: UpkeepHost;
  #cache: HoldCache;
  #writer: HoldWriter;
  #cleanups = new Map<string, Set<number>>(); // key → connections whose records still need removing
  #sweeping = new Set<string>();
  #connectedSinceMs: number | undefined = Date.now();
  #downSinceMs: number | undefined;
  #fenced = false;
  #lastPollMs = 0;
  #tick: ReturnType<typeof setInterval>;

  constructor(host: UpkeepHost, cache: HoldCache, writer: HoldWriter) {
    this.#host = host;
    this.#cache = cache;
    this.#writer = writer;
    this.#tick = setInterval(
      () => this.#onTick(),
      Math.min(250, host.heartbeatMs / 4),
    );
  }

  /** True once cut off for two heartbeats, until the link is back. */
  get fenced(): boolean {
    return this.#fenced;
  }

  /** Removes the records of connection `o` of this node from `key`, now or once reconnected. */
  cleanup(key: string, o: number): void {
    this.#writer.run(key, { op: "leave", by: { n: this.#host.self, o } })
      .catch(() => {
        let set = this.#cleanups.get(key);
        if (set === undefined) this.#cleanups.set(key, set = new Set());
        set.add(o);
      });
  }

  /** Stops the timer. */
  close(): void {
    clearInterval(this.#tick);
  }

  #onTick(): void {
    const now = Date.now();
    if (!this.#host.connected()) {
      this.#connectedSinceMs = undefined;
      this.#downSinceMs ??= now;
      if (
        !this.#fenced && now - this.#downSinceMs >= 2 * this.#host.heartbeatMs
      ) {
        this.#fenced = true;
        this.#host.fence();
      }
      return;
    }
    if (this.#connectedSinceMs === undefined) this.#reconnected(now);
    this.#cache.ensureWatch();
    const cleanups = [...this.#cleanups];
    this.#cleanups.clear();
    for (const [key, set] of cleanups) {
      for (const o of set) this.cleanup(key, o);
    }
    this.#sweep(now);
    if (now - this.#lastPollMs >= this.#host.heartbeatMs) {
      this.#lastPollMs = now;
      this.#poll();
    }
  }

  /**
   * Reads the records this node's waiters wait on, once per heartbeat: a grant is found even if
   * the watch stalled (it is the fast path, not the only one).
   */
  #poll(): void {
    for (const key of this.#host.waitedKeys()) {
      this.#cache.fetch(key).catch(() => {}); // a newer record settles its waiters
    }
  }

  #reconnected(now: number): void {
    this.#connectedSinceMs = now;
    this.#downSinceMs = undefined;
    this.#fenced = false;
    this.#cache.restartWatch(); // the watch may have missed changes while the link was down
  }

  /** Expires leases, serves free queue heads, removes the records of gone nodes. */
  #sweep(now: number): void {
    const { self, heartbeatMs } = this.#host;
    const settled = now - this.#connectedSinceMs! >= 3.5 * heartbeatMs; // heard from every live node by now
    const live = this.#writer.live(now);
    const myId = nodeOf(self);
    const gone = (e: { n: string }) =>
      settled && e.n !== self && !live.has(nodeOf(e.n));
    const earlier = (e: { n: string }) => e.n !== self && nodeOf(e.n) === myId;
    for (const [key, entry] of this.#cache.entries()) {
      const record = entry.value;
      if (record === undefined || this.#sweeping.has(key)) continue;
      const entries: readonly { n: string }[] = isSemaphoreKey(key)
        ? [...(record as SemaphoreRecord).h, ...(record as SemaphoreRecord).q]
        : (record as BarrierRecord).a;
      const old = entries.filter(earlier).map((e) => e.n);
      if (old.length > 0) { // this node restarted: its earlier self is gone
        this.#sweepKey(
          key,
          this.#writer.run(key, {
            op: "forget",
            incarnations: [...new Set(old)],
          }),
        );
        continue;
      }
      if (!this.#writer.isHome(key, live)) continue; // its writer sweeps it
      const work = isSemaphoreKey(key)
        ? needsWork(record as SemaphoreRecord, now)
        : barrierNeedsWork(record as BarrierRecord, now);
      if (!entries.some(gone) && !work) continue;
      this.#sweepKey(
        key,
        this.#writer.change(
          key,
          (r) =>
            isSemaphoreKey(key)
              ? dropIn(r as SemaphoreRecord, gone, Date.now())
              : leaveIn(r as BarrierRecord, gone, Date.now()),
        ),
      );
    }
  }

  /** One sweep of `key` at a time; a failure is logged (the next tick tries again). */
  #sweepKey(key: string, sweeping: Promise<unknown>): void {
    this.#sweeping.add(key);
    sweeping.catch((error: Error) =>
      this.#host.log.warn(
        "Cannot release holds of gone nodes in {key}: {error}",
        { key, error: error.message },
      )
    ).finally(() => this.#sweeping.delete(key));
  }
}
