import type { BusLog } from "./bus.ts";
import type { BarrierRecord, SemaphoreRecord } from "./hold_records.ts";
import { type KV, Kvm, type NatsConnection } from "./_nats.ts";

type AnyRecord = SemaphoreRecord | BarrierRecord;

/** A record as last seen, with the revision compare-and-set needs (0: the key never existed). */
export interface CachedRecord {
  readonly rev: number;
  readonly value: AnyRecord | undefined;
}

/** True for the key of a semaphore or lock (`s.…`); barriers are `b.…`. */
export function isSemaphoreKey(key: string): boolean {
  return key.startsWith("s.");
}

/** The node id of a node incarnation `<id>/<instance>`. */
export function nodeOf(incarnation: string): string {
  return incarnation.slice(0, incarnation.lastIndexOf("/"));
}

/**
 * The holds bucket (`em_<name>_holds`, JetStream KV, file storage, history 1) and this node's copy
 * of it, kept current by a watch of every key: `onChange(key)` runs after each newer revision.
 * Writes are compare-and-set on the revision they were computed from.
 */
export class HoldCache {
  /** Called after a key's record changed (from the watch or from this node's own write). */
  onChange: (key: string) => void = () => {};
  #kv: KV;
  #log: BusLog;
  #records = new Map<string, CachedRecord>();
  #watch: { stop(): void } | undefined;
  #starting = false;
  #closed = false;
  #watching: Promise<void> = Promise.resolve();

  private constructor(kv: KV, log: BusLog) {
    this.#kv = kv;
    this.#log = log;
  }

  /** Opens (creates when missing) the bucket and starts watching it. */
  static async open(
    nc: NatsConnection,
    options: { bucket: string; replicas: number; log: BusLog },
  ): Promise<HoldCache> {
    const kv = await new Kvm(nc).create(options.bucket, {
      replicas: options.replicas,
      storage: "file",
      history: 1,
    });
    const cache = new HoldCache(kv, options.log);
    await cache.#startWatch();
    return cache;
  }

  /** The record of `key` as last seen. */
  get(key: string): CachedRecord | undefined {
    return this.#records.get(key);
  }

  /** Every record as last seen. */
  entries(): IterableIterator<[string, CachedRecord]> {
    return this.#records.entries();
  }

  /** Reads the record of `key` from the bucket. */
  async fetch(key: string): Promise<CachedRecord> {
    const entry = await this.#kv.get(key);
    if (entry === null) return { rev: 0, value: undefined };
    const value = entry.operation === "PUT" ? parse(entry.string()) : undefined;
    this.#remember(key, entry.revision, value);
    return { rev: entry.revision, value };
  }

  /**
   * Stores `next` (undefined: deletes the key) if the key is still at `current.rev`.
   * @returns the new revision (0 after a delete), or undefined when another writer came first
   */
  async write(
    key: string,
    next: AnyRecord | undefined,
    current: CachedRecord,
  ): Promise<number | undefined> {
    const text = next === undefined ? undefined : JSON.stringify(next);
    const same = current.value === undefined
      ? text === undefined
      : text === JSON.stringify(current.value);
    if (same) return current.rev;
    try {
      if (text === undefined) {
        await this.#kv.delete(key, { previousSeq: current.rev });
        return 0;
      }
      const rev = current.rev === 0
        ? await this.#kv.create(key, text)
        : await this.#kv.update(key, text, current.rev);
      this.#remember(key, rev, next);
      return rev;
    } catch (error) {
      if (/wrong last sequence|exists/i.test((error as Error).message)) {
        return undefined;
      }
      throw error;
    }
  }

  /** Watches again from every key's last value (after the link came back), unless watching. */
  restartWatch(): void {
    this.#watch?.stop();
    this.#watch = undefined;
    void this.#startWatch();
  }

  /** Starts a watch when none runs (it ended with an error). */
  ensureWatch(): void {
    if (this.#watch === undefined && !this.#starting) void this.#startWatch();
  }

  /** Stops the watch. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watch?.stop();
    await this.#watching;
  }

  async #startWatch(): Promise<void> {
    if (this.#closed || this.#starting) return;
    this.#starting = true;
    try {
      const iterator = await this.#kv.watch({ key: ">" });
      if (this.#closed) return iterator.stop();
      this.#watch = iterator;
      this.#watching = (async () => {
        for await (const entry of iterator) {
          const value = entry.operation === "PUT"
            ? parse(entry.string())
            : undefined;
          this.#remember(entry.key, entry.revision, value);
        }
      })().catch((error: Error) =>
        this.#log.warn("The watch of the holds bucket ended: {error}", {
          error: error.message,
        })
      ).finally(() => {
        if (this.#watch === iterator) this.#watch = undefined;
      });
    } catch (error) {
      this.#log.warn("Cannot watch the holds bucket: {error}", {
        error: (error as Error).message,
      });
    } finally {
      this.#starting = false;
    }
  }

  #remember(key: string, rev: number, value: AnyRecord | undefined): void {
    const known = this.#records.get(key);
    if (known !== undefined && known.rev >= rev) return;
    this.#records.set(key, { rev, value });
    this.onChange(key);
  }
}

function parse(text: string): AnyRecord | undefined {
  try {
    return JSON.parse(text) as AnyRecord;
  } catch {
    return undefined;
  }
}
