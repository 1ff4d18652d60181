import type { SyncOwner } from "./bus.ts";
import type { BarrierRecord, SemaphoreRecord } from "./hold_records.ts";
import { type HoldCache, isSemaphoreKey } from "./hold_cache.ts";
import { closed } from "./hold_replies.ts";
import { recalls } from "./hold_recent.ts";

type AnyRecord = SemaphoreRecord | BarrierRecord;

/** One owner's requests as this node tracks them. */
export interface OwnerState {
  readonly o: number;
  /** Tokens of its bound holds → key and the revision that granted them. */
  readonly holds: Map<string, { key: string; rev: number }>;
  /** Its waiting acquires and barrier arrivals by request id. */
  readonly waits: Map<string, Waiting>;
  /** Keys it ever queued or held in (cleaned when it goes). */
  readonly keys: Set<string>;
  /** Acquires and arrivals by request id, from sending them to the store until answered or waiting. */
  readonly sending: Map<string, Promise<void>>;
}

/** A request waiting for a grant (acquire) or a round to complete (barrier). */
export interface Waiting {
  readonly owner: SyncOwner;
  readonly state: OwnerState;
  readonly id: string;
  readonly name: string;
  readonly key: string;
  readonly w: string;
  /** Records older than the one that queued it say nothing about it. */
  readonly minRev: number;
  /** Its owner withdrew it: leaving the record is no news for the owner. */
  withdrawing?: boolean;
}

/**
 * This node's waiting acquires and barrier arrivals: each record the watch (or a read) brings
 * answers the waiters it decided — granted, the round complete, or dropped by the cluster — and
 * tells the owners of bound holds the record no longer has.
 */
export class HoldWaiters {
  #cache: HoldCache;
  #owners: ReadonlyMap<SyncOwner, OwnerState>;
  #waiting = new Map<string, Waiting>(); // by waiter id
  #byKey = new Map<string, Set<Waiting>>();

  constructor(cache: HoldCache, owners: ReadonlyMap<SyncOwner, OwnerState>) {
    this.#cache = cache;
    this.#owners = owners;
  }

  /** The waiter with id `w`. */
  get(w: string): Waiting | undefined {
    return this.#waiting.get(w);
  }

  /** The keys waiters wait on. */
  keys(): Iterable<string> {
    return this.#byKey.keys();
  }

  /** Registers a waiter and looks at the newest record at once (the watch may be ahead). */
  add(waiting: Waiting): void {
    waiting.state.waits.set(waiting.id, waiting);
    this.#waiting.set(waiting.w, waiting);
    let set = this.#byKey.get(waiting.key);
    if (set === undefined) this.#byKey.set(waiting.key, set = new Set());
    set.add(waiting);
    this.settle(waiting.key);
  }

  /** Forgets a waiter (answered, withdrawn, or its owner gone). */
  forget(waiting: Waiting): void {
    waiting.state.waits.delete(waiting.id);
    this.#waiting.delete(waiting.w);
    const set = this.#byKey.get(waiting.key);
    set?.delete(waiting);
    if (set?.size === 0) this.#byKey.delete(waiting.key);
  }

  /** A record changed: answers this node's waiters it decided, revokes holds it no longer has. */
  settle(key: string): void {
    const entry = this.#cache.get(key);
    if (entry === undefined) return;
    const semaphore = isSemaphoreKey(key);
    for (const waiting of this.#byKey.get(key) ?? []) {
      if (entry.rev < waiting.minRev) continue;
      const { w, owner, id, name } = waiting;
      if (!semaphore) {
        const record = entry.value as BarrierRecord | undefined;
        if (record?.a.some((a) => a.w === w)) continue;
        this.forget(waiting);
        // the round completed; or, while its owner withdraws, it left (unless remembered complete)
        if (!waiting.withdrawing || recalls(record?.d, w, Date.now())) {
          owner.answer({ kind: "ok", id });
        }
        continue;
      }
      const record = entry.value as SemaphoreRecord | undefined;
      if (record?.q.some((q) => q.w === w)) continue;
      this.forget(waiting);
      const hold = record?.h.find((h) => h.w === w);
      if (hold === undefined && waiting.withdrawing) continue;
      if (hold === undefined) {
        owner.answer(closed(
          id,
          `Cannot acquire "${name}": the cluster dropped the request (this node was taken for gone)`,
        ));
        continue;
      }
      if (hold.o !== undefined) {
        waiting.state.holds.set(hold.t, { key, rev: entry.rev });
      }
      owner.answer({ kind: "granted", id, token: hold.t });
    }
    if (semaphore) this.#checkHolds(key, entry);
  }

  /** A bound hold missing from a newer record was released by the cluster: tell its owner. */
  #checkHolds(
    key: string,
    entry: { rev: number; value: AnyRecord | undefined },
  ): void {
    const record = entry.value as SemaphoreRecord | undefined;
    for (const [owner, state] of this.#owners) {
      for (const [token, hold] of state.holds) {
        if (hold.key !== key || entry.rev <= hold.rev) continue;
        if (record?.h.some((h) => h.t === token)) continue;
        state.holds.delete(token);
        owner.revoke(
          `Lost a hold: the cluster released it (this node was taken for gone)`,
        );
      }
    }
  }
}
