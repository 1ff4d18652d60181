/** A reference model of mutexes and semaphores, written as plainly as possible, and a fake clock. */
import type { Clock } from "../../../server/sync/clock.ts";

/** A clock that moves only when told; timers due fire in (time, order scheduled). */
export class FakeClock implements Clock {
  #now = 1_000;
  #seq = 0;
  #timers: { at: number; seq: number; callback: () => void; live: boolean }[] =
    [];

  now(): number {
    return this.#now;
  }

  at(atMs: number, callback: () => void): () => void {
    const timer = { at: atMs, seq: ++this.#seq, callback, live: true };
    this.#timers.push(timer);
    return () => timer.live = false;
  }

  /** Moves to now + ms, then fires every timer due by then. */
  advance(ms: number): void {
    this.#now += ms;
    for (let guard = 0; guard < 10_000; guard++) {
      this.#timers = this.#timers.filter((timer) => timer.live);
      const due = this.#timers.filter((timer) => timer.at <= this.#now)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) return;
      due.live = false;
      due.callback();
    }
    throw new Error("Timers keep firing");
  }

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.#timers.filter((timer) => timer.live).length;
  }
}

/** A hold in the model. */
export interface ModelHold {
  token: string;
  owner: string | undefined;
  count: number;
  expiresAtMs: number;
}

/** A semaphore in the model. */
export interface ModelSem {
  permits: number;
  holds: ModelHold[];
  queue: { owner: string; id: string; count: number; ttlMs?: number }[];
}

/** The model: what the rules in docs/PROTOCOL.md say must happen. */
export class Model {
  sems = new Map<string, ModelSem>();
  grants: string[] = []; // "owner:id:token" granted from the queue, since last taken

  constructor(readonly now: () => number) {}

  acquire(
    owner: string,
    r: {
      id: string;
      name: string;
      permits: number;
      count: number;
      ttlMs?: number;
    },
  ): "granted" | "queued" | "refused" {
    const sem = this.sems.get(r.name);
    if (sem !== undefined && sem.permits !== r.permits) return "refused";
    const s = sem ?? { permits: r.permits, holds: [], queue: [] };
    this.sems.set(r.name, s);
    s.queue.push({
      owner,
      id: r.id,
      count: r.count,
      ...(r.ttlMs ? { ttlMs: r.ttlMs } : {}),
    });
    const before = this.grants.length;
    this.#serve(r.name);
    if (this.grants.length > before) {
      this.grants.pop(); // granted at once: answered by the acquire itself
      return "granted";
    }
    return "queued";
  }

  release(owner: string, name: string, token: string): boolean {
    const sem = this.sems.get(name);
    const hold = sem?.holds.find((h) => h.token === token);
    if (
      hold === undefined || (hold.owner !== undefined && hold.owner !== owner)
    ) return false;
    sem!.holds.splice(sem!.holds.indexOf(hold), 1);
    this.#serve(name);
    return true;
  }

  renew(name: string, token: string, ttlMs: number): boolean {
    const hold = this.sems.get(name)?.holds.find((h) => h.token === token);
    if (hold === undefined || hold.owner !== undefined) return false;
    hold.expiresAtMs = this.now() + ttlMs;
    return true;
  }

  withdraw(owner: string, id: string): boolean {
    for (const [name, sem] of this.sems) {
      const index = sem.queue.findIndex((w) =>
        w.owner === owner && w.id === id
      );
      if (index === -1) continue;
      sem.queue.splice(index, 1);
      this.#serve(name);
      return true;
    }
    return false;
  }

  disconnect(owner: string): void {
    for (const [name, sem] of this.sems) {
      sem.queue = sem.queue.filter((w) => w.owner !== owner);
      sem.holds = sem.holds.filter((h) => h.owner !== owner);
      this.#serve(name);
    }
  }

  expire(): void {
    for (const [name, sem] of this.sems) {
      sem.holds = sem.holds.filter((h) => h.expiresAtMs > this.now());
      this.#serve(name);
    }
  }

  #serve(name: string): void {
    const sem = this.sems.get(name)!;
    const used = () => sem.holds.reduce((sum, h) => sum + h.count, 0);
    while (
      sem.queue.length > 0 && used() + sem.queue[0]!.count <= sem.permits
    ) {
      const w = sem.queue.shift()!;
      const token = `tok-${w.id}`;
      sem.holds.push({
        token,
        owner: w.ttlMs === undefined ? w.owner : undefined,
        count: w.count,
        expiresAtMs: w.ttlMs === undefined ? Infinity : this.now() + w.ttlMs,
      });
      this.grants.push(`${w.owner}:${w.id}:${token}`);
    }
    if (sem.holds.length === 0 && sem.queue.length === 0) {
      this.sems.delete(name);
    }
  }
}
