import type { Clock } from "./clock.ts";
import type { SyncStore } from "./store.ts";
import {
  type Hold,
  NO_EXPIRY,
  type OwnerRefs,
  record,
  type Semaphore,
} from "./_semaphore_records.ts";
import type {
  AcquireRequest,
  AcquireResult,
  SemaphoreEvents,
  SemaphoreTableOptions,
  SemaphoreView,
} from "./semaphore_table_options.ts";

export type {
  AcquireRequest,
  AcquireResult,
  HoldView,
  SemaphoreEvents,
  SemaphoreTableOptions,
  SemaphoreView,
} from "./semaphore_table_options.ts";

/**
 * Mutexes and counting semaphores: strict FIFO waiters, holds bound to an owner (a connection) or
 * leases with a TTL kept in a {@link SyncStore}. Pure state: the server feature does the wire.
 */
export class SemaphoreTable<O> {
  #sems = new Map<string, Semaphore<O>>();
  /** Waits and bound holds per owner; kept (empty) until {@link drop}, so a lock loop allocates none. */
  #owners = new Map<O, OwnerRefs<O>>();
  /** The last semaphore that went idle, reused by the next new one (its map and queue too). */
  #spare: Semaphore<O> | undefined;
  #leases = 0;
  #store: SyncStore;
  #clock: Clock;
  #events: SemaphoreEvents<O>;
  #newToken: (request: AcquireRequest) => string;
  #maxPerOwner: number;
  #maxLeases: number;

  constructor(store: SyncStore, options: SemaphoreTableOptions<O>) {
    this.#store = store;
    this.#clock = options.clock;
    this.#events = options.events;
    this.#newToken = options.newToken ?? (() => crypto.randomUUID());
    this.#maxPerOwner = options.maxPerOwner ?? 10_000;
    this.#maxLeases = options.maxLeases ?? 100_000;
  }

  /** Takes the leases the store kept; expired ones are deleted. */
  load(): void {
    const now = this.#clock.now();
    for (const lease of this.#store.loadLeases()) {
      if (lease.expiresAtMs <= now) {
        this.#store.deleteLease(lease.token);
        continue;
      }
      const sem = this.#semaphore(lease.name, lease.permits);
      this.#addHold(
        sem,
        lease.token,
        lease.count,
        undefined,
        lease.expiresAtMs,
      );
    }
  }

  /**
   * Grants at once when nobody waits and the permits are free, else queues (first come, first
   * served).
   * @throws what the store throws for a lease (nothing changed)
   */
  acquire(owner: O, request: AcquireRequest): AcquireResult {
    const existing = this.#sems.get(request.name);
    if (existing !== undefined && existing.permits !== request.permits) {
      return {
        refused:
          `Semaphore "${request.name}" has ${existing.permits} permits, not ${request.permits}`,
      };
    }
    const limit = this.#overLimit(owner, request);
    if (limit !== undefined) return { refused: limit };
    const sem = existing ?? this.#semaphore(request.name, request.permits);
    if (sem.queue.length === 0 && sem.used + request.count <= sem.permits) {
      try {
        return { token: this.#grant(sem, owner, request) };
      } finally {
        this.#dropIfIdle(sem);
      }
    }
    sem.queue.push({ owner, request });
    this.#ref(owner, sem, 1);
    return { queued: true };
  }

  /**
   * Releases the hold `token` of `name`: a lease from any owner, a bound hold only from its owner.
   * @returns undefined when released, else why not (nothing changed)
   * @throws what the store throws for a lease (nothing changed)
   */
  release(owner: O, name: string, token: string): string | undefined {
    const sem = this.#sems.get(name);
    const hold = sem?.holds.get(token);
    if (
      sem === undefined || hold === undefined ||
      (hold.owner !== undefined && hold.owner !== owner)
    ) {
      return `Cannot release "${name}": "${token}" is neither a hold of this connection nor a lease`;
    }
    if (hold.owner === undefined) this.#store.deleteLease(token);
    this.#removeHold(sem, hold);
    this.#serve(sem);
    return undefined;
  }

  /**
   * Makes the lease `token` of `name` end `ttlMs` from now.
   * @returns undefined when renewed, else why not (nothing changed)
   * @throws what the store throws (nothing changed)
   */
  renew(name: string, token: string, ttlMs: number): string | undefined {
    const sem = this.#sems.get(name);
    const hold = sem?.holds.get(token);
    if (sem === undefined || hold === undefined) {
      return `Cannot renew "${name}": "${token}" is not a lease of it`;
    }
    if (hold.owner !== undefined) {
      return `Cannot renew "${name}": "${token}" is bound to its connection, not a lease`;
    }
    const expiresAtMs = this.#clock.now() + ttlMs;
    this.#store.putLease(record(sem, hold.token, hold.count, expiresAtMs));
    hold.cancelExpiry();
    hold.expiresAtMs = expiresAtMs;
    hold.cancelExpiry = this.#clock.at(
      expiresAtMs,
      () => this.#expire(sem, hold),
    );
    return undefined;
  }

  /** Removes the waiting acquire `id` of `owner`; false when it was not waiting. */
  withdraw(owner: O, id: string): boolean {
    for (const sem of this.#owners.get(owner)?.sems.keys() ?? []) {
      const index = sem.queue.findIndex((w) =>
        w.owner === owner && w.request.id === id
      );
      if (index === -1) continue;
      sem.queue.splice(index, 1);
      this.#ref(owner, sem, -1);
      this.#serve(sem); // a large request at the head may have blocked smaller ones
      return true;
    }
    return false;
  }

  /** The owner is gone: its waits are withdrawn and its bound holds released at once. */
  drop(owner: O): void {
    const refs = this.#owners.get(owner);
    if (refs === undefined) return;
    this.#owners.delete(owner);
    for (const sem of refs.sems.keys()) {
      sem.queue = sem.queue.filter((waiter) => waiter.owner !== owner);
      for (const hold of [...sem.holds.values()]) {
        if (hold.owner === owner) this.#removeHold(sem, hold);
      }
      this.#serve(sem);
    }
  }

  /** Cancels every expiry timer (the server stops). */
  stop(): void {
    for (const sem of this.#sems.values()) {
      for (const hold of sem.holds.values()) hold.cancelExpiry();
    }
  }

  /** The state of one semaphore, or undefined when nobody holds or waits for it. */
  inspect(name: string): SemaphoreView<O> | undefined {
    const sem = this.#sems.get(name);
    if (sem === undefined) return undefined;
    return {
      permits: sem.permits,
      holds: [...sem.holds.values()].map((
        { token, count, owner, expiresAtMs },
      ) => ({
        token,
        count,
        owner,
        expiresAtMs,
      })),
      queue: sem.queue.map(({ owner, request }) => ({
        owner,
        id: request.id,
        count: request.count,
      })),
    };
  }

  /** Leases held. */
  get leaseCount(): number {
    return this.#leases;
  }

  /** Names of the semaphores that have holds or waiters. */
  names(): string[] {
    return [...this.#sems.keys()];
  }

  #overLimit(owner: O, request: AcquireRequest): string | undefined {
    if ((this.#owners.get(owner)?.total ?? 0) >= this.#maxPerOwner) {
      return `Cannot acquire "${request.name}": this connection already has ${this.#maxPerOwner} holds and waiting requests`;
    }
    if (request.ttlMs !== undefined && this.#leases >= this.#maxLeases) {
      return `Cannot acquire "${request.name}": the server already keeps ${this.#maxLeases} leases`;
    }
    return undefined;
  }

  #semaphore(name: string, permits: number): Semaphore<O> {
    let sem = this.#sems.get(name);
    if (sem === undefined) {
      sem = this.#spare;
      if (sem === undefined) {
        sem = { name, permits, used: 0, holds: new Map(), queue: [] };
      } else {
        this.#spare = undefined;
        sem.name = name;
        sem.permits = permits;
      }
      this.#sems.set(name, sem);
    }
    return sem;
  }

  #grant(sem: Semaphore<O>, owner: O, request: AcquireRequest): string {
    const token = this.#newToken(request);
    if (request.ttlMs === undefined) {
      this.#addHold(sem, token, request.count, owner, Infinity);
    } else {
      const expiresAtMs = this.#clock.now() + request.ttlMs;
      this.#store.putLease(record(sem, token, request.count, expiresAtMs));
      this.#addHold(sem, token, request.count, undefined, expiresAtMs);
    }
    return token;
  }

  #addHold(
    sem: Semaphore<O>,
    token: string,
    count: number,
    owner: O | undefined,
    expiresAtMs: number,
  ): void {
    const hold: Hold<O> = {
      token,
      count,
      owner,
      expiresAtMs,
      cancelExpiry: NO_EXPIRY,
    };
    sem.holds.set(token, hold);
    sem.used += count;
    if (owner !== undefined) this.#ref(owner, sem, 1);
    else {
      this.#leases++;
      hold.cancelExpiry = this.#clock.at(
        expiresAtMs,
        () => this.#expire(sem, hold),
      );
    }
  }

  #removeHold(sem: Semaphore<O>, hold: Hold<O>): void {
    hold.cancelExpiry();
    sem.holds.delete(hold.token);
    sem.used -= hold.count;
    if (hold.owner !== undefined) this.#ref(hold.owner, sem, -1);
    else this.#leases--;
  }

  #expire(sem: Semaphore<O>, hold: Hold<O>): void {
    if (sem.holds.get(hold.token) !== hold) return;
    try {
      this.#store.deleteLease(hold.token);
    } catch (error) {
      this.#events.warn(
        `Cannot record the expiry of lease "${hold.token}" of "${sem.name}": ${
          (error as Error).message
        }`,
      );
    }
    this.#removeHold(sem, hold);
    this.#serve(sem);
  }

  /** Grants waiters from the head while their permits are free; strict order. */
  #serve(sem: Semaphore<O>): void {
    while (sem.queue.length > 0) {
      const head = sem.queue[0]!;
      if (sem.used + head.request.count > sem.permits) break;
      sem.queue.shift();
      this.#ref(head.owner, sem, -1);
      if (!this.#events.alive(head.owner)) continue;
      let token: string;
      try {
        token = this.#grant(sem, head.owner, head.request);
      } catch (error) {
        this.#events.failed(head.owner, head.request.id, error as Error);
        continue;
      }
      this.#events.granted(head.owner, head.request.id, token);
    }
    this.#dropIfIdle(sem);
  }

  #dropIfIdle(sem: Semaphore<O>): void {
    if (sem.holds.size === 0 && sem.queue.length === 0) {
      if (this.#sems.get(sem.name) === sem) {
        this.#sems.delete(sem.name);
        this.#spare = sem; // nothing refers to it now: no hold, no waiter, no owner's count
      }
    }
  }

  #ref(owner: O, sem: Semaphore<O>, delta: number): void {
    let refs = this.#owners.get(owner);
    if (refs === undefined) {
      if (delta < 0) return;
      refs = { total: 0, sems: new Map() };
      this.#owners.set(owner, refs);
    }
    const { sems } = refs;
    const count = (sems.get(sem) ?? 0) + delta;
    if (count > 0) sems.set(sem, count);
    else sems.delete(sem);
    refs.total = sems.size === 0 ? 0 : Math.max(0, refs.total + delta);
  }
}
