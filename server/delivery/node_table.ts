/** The other nodes of a cluster this node has heard from, and when; a node unheard for `ttlMs` is gone. */
export class NodeTable {
  #lastSeenMs = new Map<string, number>();
  #ttlMs: number;

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  /** A heartbeat of `node` arrived at `nowMs`. */
  seen(node: string, nowMs: number): void {
    this.#lastSeenMs.set(node, nowMs);
  }

  /** `node` said it leaves. */
  forget(node: string): void {
    this.#lastSeenMs.delete(node);
  }

  /** The nodes heard from within the time to live; forgets the others. */
  live(nowMs: number): Set<string> {
    const live = new Set<string>();
    for (const [node, lastMs] of this.#lastSeenMs) {
      if (nowMs - lastMs <= this.#ttlMs) live.add(node);
      else this.#lastSeenMs.delete(node);
    }
    return live;
  }
}
