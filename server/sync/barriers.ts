/** One party waiting at a barrier. */
interface Arrival<O> {
  readonly owner: O;
  readonly id: string;
}

interface Barrier<O> {
  readonly name: string;
  readonly parties: number;
  arrivals: Arrival<O>[];
}

/**
 * Barriers: `parties` arrivals release together; an arrival is withdrawn on request or when its
 * owner goes. Not durable: arrivals belong to connections.
 */
export class BarrierTable<O> {
  #barriers = new Map<string, Barrier<O>>();
  #owners = new Map<O, Set<Barrier<O>>>();
  #released: (owner: O, id: string) => void;

  /** @param released called for each arrival once its barrier is complete */
  constructor(released: (owner: O, id: string) => void) {
    this.#released = released;
  }

  /**
   * Adds an arrival; when it is the last one, releases them all.
   * @returns undefined, or why the arrival is refused (nothing changed)
   */
  arrive(
    owner: O,
    id: string,
    name: string,
    parties: number,
  ): string | undefined {
    let barrier = this.#barriers.get(name);
    if (barrier !== undefined && barrier.parties !== parties) {
      return `Barrier "${name}" is for ${barrier.parties} parties, not ${parties}`;
    }
    if (barrier === undefined) {
      barrier = { name, parties, arrivals: [] };
      this.#barriers.set(name, barrier);
    }
    barrier.arrivals.push({ owner, id });
    if (barrier.arrivals.length < parties) {
      let mine = this.#owners.get(owner);
      if (mine === undefined) this.#owners.set(owner, mine = new Set());
      mine.add(barrier);
      return undefined;
    }
    this.#barriers.delete(name);
    for (const arrival of barrier.arrivals) {
      this.#owners.get(arrival.owner)?.delete(barrier);
      if (this.#owners.get(arrival.owner)?.size === 0) {
        this.#owners.delete(arrival.owner);
      }
      this.#released(arrival.owner, arrival.id);
    }
    return undefined;
  }

  /** Withdraws the arrival `id` of `owner`; false when it was not waiting. */
  withdraw(owner: O, id: string): boolean {
    for (const barrier of this.#owners.get(owner) ?? []) {
      const index = barrier.arrivals.findIndex((a) =>
        a.owner === owner && a.id === id
      );
      if (index === -1) continue;
      barrier.arrivals.splice(index, 1);
      this.#forget(owner, barrier);
      return true;
    }
    return false;
  }

  /** The owner is gone: its arrivals are withdrawn. */
  drop(owner: O): void {
    for (const barrier of this.#owners.get(owner) ?? []) {
      barrier.arrivals = barrier.arrivals.filter((a) => a.owner !== owner);
      if (barrier.arrivals.length === 0) this.#barriers.delete(barrier.name);
    }
    this.#owners.delete(owner);
  }

  /** How many parties wait at `name`. */
  waiting(name: string): number {
    return this.#barriers.get(name)?.arrivals.length ?? 0;
  }

  #forget(owner: O, barrier: Barrier<O>): void {
    if (!barrier.arrivals.some((a) => a.owner === owner)) {
      this.#owners.get(owner)?.delete(barrier);
      if (this.#owners.get(owner)?.size === 0) this.#owners.delete(owner);
    }
    if (barrier.arrivals.length === 0) this.#barriers.delete(barrier.name);
  }
}
