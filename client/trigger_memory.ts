/** One pending request against the memory. */
interface Pending {
  readonly names: readonly string[];
  readonly discards: boolean; // wait() discards what it skips; next() takes only its own name
  readonly resolve: (name: string) => void;
}

/**
 * EM's memory of events for one receiving connection: triggers that arrived before anyone asked.
 * `wait` consumes in order up to and including the first match and discards the rest it looked at;
 * `next` takes the first occurrence of its name and leaves the others.
 */
export class TriggerMemory {
  #log: string[] = [];
  #pending: Pending[] = [];
  #capacity: number;
  #dropped = 0;

  /** @param capacity triggers remembered before the oldest are dropped */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Triggers dropped because the memory was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Remembered triggers, oldest first. */
  get remembered(): readonly string[] {
    return this.#log;
  }

  /** Records an arriving trigger and serves pending requests. */
  push(name: string): void {
    this.#log.push(name);
    if (this.#log.length > this.#capacity) {
      this.#log.shift();
      this.#dropped++;
    }
    this.#serve();
  }

  /**
   * Asks for `name`. Returns true at once if the memory satisfies it, otherwise registers `resolve`
   * and returns a function that withdraws the request.
   */
  request(
    name: string,
    discards: boolean,
    resolve: () => void,
  ): true | (() => void) {
    const result = this.requestAny([name], discards, resolve);
    return typeof result === "string" ? true : result;
  }

  /**
   * Asks for any of `names`: the first remembered trigger of one of them. Returns that name at once
   * if the memory has one, otherwise registers `resolve` and returns a function that withdraws it.
   */
  requestAny(
    names: readonly string[],
    discards: boolean,
    resolve: (name: string) => void,
  ): string | (() => void) {
    const taken = this.#take(names, discards);
    if (taken !== undefined) return taken;
    const pending: Pending = { names, discards, resolve };
    this.#pending.push(pending);
    return () => {
      const index = this.#pending.indexOf(pending);
      if (index !== -1) this.#pending.splice(index, 1);
    };
  }

  #serve(): void {
    // next() requests first: they take only their own name, so a wait() cannot discard it first
    for (const pending of [...this.#pending]) {
      if (pending.discards) continue;
      const taken = this.#take(pending.names, false);
      if (taken !== undefined) this.#settle(pending, taken);
    }
    // Then wait() requests, together: the earliest trigger any of them wants serves the first
    // wait for that name, and everything before it is discarded. With no wait pending, the
    // memory keeps everything.
    while (this.#log.length > 0) {
      const waits = this.#pending.filter((pending) => pending.discards);
      if (waits.length === 0) return;
      const index = this.#log.findIndex((name) =>
        waits.some((wait) => wait.names.includes(name))
      );
      if (index === -1) {
        this.#log.length = 0;
        return;
      }
      const name = this.#log[index]!;
      this.#log.splice(0, index + 1);
      this.#settle(waits.find((wait) => wait.names.includes(name))!, name);
    }
  }

  #settle(pending: Pending, name: string): void {
    this.#pending.splice(this.#pending.indexOf(pending), 1);
    pending.resolve(name);
  }

  #take(names: readonly string[], discards: boolean): string | undefined {
    const index = names.length === 1
      ? this.#log.indexOf(names[0]!)
      : this.#log.findIndex((name) => names.includes(name));
    if (index === -1) {
      if (discards) this.#log.length = 0;
      return undefined;
    }
    const name = this.#log[index]!;
    if (discards) this.#log.splice(0, index + 1);
    else this.#log.splice(index, 1);
    return name;
  }
}
