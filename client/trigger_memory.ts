/** One pending request against the memory. */
interface Pending {
  readonly name: string;
  readonly discards: boolean; // wait() discards what it skips; next() takes only its own name
  readonly resolve: () => void;
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
    if (this.#take(name, discards)) return true;
    const pending: Pending = { name, discards, resolve };
    this.#pending.push(pending);
    return () => {
      const index = this.#pending.indexOf(pending);
      if (index !== -1) this.#pending.splice(index, 1);
    };
  }

  #serve(): void {
    // next() requests first: they take only their own name, so a wait() cannot discard it first
    for (const pending of [...this.#pending]) {
      if (!pending.discards && this.#take(pending.name, false)) {
        this.#settle(pending);
      }
    }
    // Then wait() requests, together: the earliest trigger any of them wants serves the first
    // wait for that name, and everything before it is discarded. With no wait pending, the
    // memory keeps everything.
    while (this.#log.length > 0) {
      const waits = this.#pending.filter((pending) => pending.discards);
      if (waits.length === 0) return;
      const index = this.#log.findIndex((name) =>
        waits.some((wait) => wait.name === name)
      );
      if (index === -1) {
        this.#log.length = 0;
        return;
      }
      const name = this.#log[index];
      this.#log.splice(0, index + 1);
      this.#settle(waits.find((wait) => wait.name === name)!);
    }
  }

  #settle(pending: Pending): void {
    this.#pending.splice(this.#pending.indexOf(pending), 1);
    pending.resolve();
  }

  #take(name: string, discards: boolean): boolean {
    const index = this.#log.indexOf(name);
    if (index === -1) {
      if (discards) this.#log.length = 0;
      return false;
    }
    if (discards) this.#log.splice(0, index + 1);
    else this.#log.splice(index, 1);
    return true;
  }
}
