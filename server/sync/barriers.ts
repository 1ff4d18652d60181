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
  #arrivals = new Map<O, number>(); // waiting arrivals per owner
  #released: (owner: O, id: string) => void;
  #maxPerOwner: number;

  /**
   * @param released called for each arrival once its barrier is complete
   * @param maxPerOwner waiting arrivals one owner may have; one more is refused
   */
  constructor(released: (owner: O, id: string) => void, maxPerOwner = 10_000) {
    this.#released = released;
    this.#maxPerOwner = maxPerOwner;
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
    if ((this.#arrivals.get(owner) ?? 0) >= this.#maxPerOwner) {
      return `Cannot arrive at "${name}": this connection already waits at ${this.#maxPerOwner} barriers`;
    }
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
      this.#count(owner, 1);
      return undefined;
    }
    this.#barriers.delete(name);
    for (const arrival of barrier.arrivals) {
      if (arrival !== barrier.arrivals.at(-1)) this.#count(arrival.owner, -1);
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
      this.#count(owner, -1);
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
    this.#arrivals.delete(owner);
  }

  /** Barriers with waiting parties: name, parties, who waits. */
  list(): { name: string; parties: number; owners: O[] }[] {
    return [...this.#barriers.values()].map(({ name, parties, arrivals }) => ({
      name,
      parties,
      owners: arrivals.map((arrival) => arrival.owner),
    }));
  }

  /** How many parties wait at `name`. */
  waiting(name: string): number {
    return this.#barriers.get(name)?.arrivals.length ?? 0;
  }

  #count(owner: O, delta: number): void {
    const count = (this.#arrivals.get(owner) ?? 0) + delta;
    if (count > 0) this.#arrivals.set(owner, count);
    else this.#arrivals.delete(owner);
  }

  #forget(owner: O, barrier: Barrier<O>): void {
    if (!barrier.arrivals.some((a) => a.owner === owner)) {
      this.#owners.get(owner)?.delete(barrier);
      if (this.#owners.get(owner)?.size === 0) this.#owners.delete(owner);
    }
    if (barrier.arrivals.length === 0) this.#barriers.delete(barrier.name);
  }
}
