/** One event as seen passing through the server. */
export interface TappedEvent {
  /** The event's name. */
  readonly name: string;
  /** Bytes of its data as JSON text; 0 for a plain trigger. */
  readonly bytes: number;
  /** The start of its data (JSON text), at most {@link PREVIEW_CHARS} characters; absent without data. */
  readonly preview?: string;
  /** Who sent it: a peer (`host:port`) or `agent:<api>`. */
  readonly from: string;
  /** How many receivers it was queued for. */
  readonly receivers: number;
  /** When, in milliseconds since the epoch. */
  readonly atMs: number;
}

/** What a listener gets every {@link TAP_INTERVAL_MS} while events pass. */
export interface TapBatch {
  /** The latest events of the interval, oldest first, at most {@link TAP_MAX_PER_BATCH}. */
  readonly events: readonly TappedEvent[];
  /** Earlier events of the interval: counted, not listed. */
  readonly skipped: number;
}

/** One wait the server confirmed (`o` to a `w` request): from then on its triggers reach the waiter. */
export interface TappedWait {
  /** The names it waits for, as the request gave them. */
  readonly names: readonly string[];
  /** Who waits: a peer (`host:port`). */
  readonly peer: string;
  /** When, in milliseconds since the epoch. */
  readonly atMs: number;
}

/** Characters of data kept as a preview. */
export const PREVIEW_CHARS = 80;
/** How often batches go out. */
export const TAP_INTERVAL_MS = 250;
/** Events listed per batch at most (400 a second): the rest are counted as skipped. */
export const TAP_MAX_PER_BATCH = 100;

const decoder = new TextDecoder();

/**
 * Watches events pass for `emstat --events` and the dashboard. It does nothing, and costs the hot
 * path one property test, while nobody listens; with listeners it keeps the latest events of each
 * interval (a bounded ring), so watching a busy server never slows it much.
 */
export class EventTap {
  #listeners = new Set<(batch: TapBatch) => void>();
  #events: TappedEvent[] = []; // a ring of the latest TAP_MAX_PER_BATCH
  #added = 0; // events of the interval
  #timer: ReturnType<typeof setInterval> | undefined;
  #waitListeners = new Set<(wait: TappedWait) => void>();

  /** True while someone listens: callers test it before building anything. */
  get active(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Adds a listener; batches come every {@link TAP_INTERVAL_MS} while events pass.
   * @returns a disposable that removes it (the last one stops the timer)
   */
  listen(listener: (batch: TapBatch) => void): Disposable {
    this.#listeners.add(listener);
    this.#timer ??= setInterval(() => this.#flush(), TAP_INTERVAL_MS);
    return {
      [Symbol.dispose]: () => {
        this.#listeners.delete(listener);
        if (this.#listeners.size === 0) this.stop();
      },
    };
  }

  /**
   * Adds a listener of confirmed waits: it is called at once for each, after the waiter's `o` was
   * queued, so a trigger sent once it is seen reaches the waiter. No timer, no batching.
   * @returns a disposable that removes it
   */
  listenWaits(listener: (wait: TappedWait) => void): Disposable {
    this.#waitListeners.add(listener);
    return { [Symbol.dispose]: () => this.#waitListeners.delete(listener) };
  }

  /** True while someone listens to waits: callers test it before building anything. */
  get watchingWaits(): boolean {
    return this.#waitListeners.size > 0;
  }

  /** Records a confirmed wait of `peer` for `names`; listeners hear of it at once. */
  waited(names: readonly string[], peer: string): void {
    const wait: TappedWait = { names, peer, atMs: Date.now() };
    for (const listener of [...this.#waitListeners]) listener(wait);
  }

  /** Records a frame of plain `T<name>\n` lines that went to `receivers` receivers. */
  plain(frame: Uint8Array, from: string, receivers: number): void {
    const atMs = Date.now();
    for (const line of decoder.decode(frame).split("\n")) {
      if (line.length > 1) {
        this.#add({ name: line.slice(1), bytes: 0, from, receivers, atMs });
      }
    }
  }

  /** Records an event with (or without) JSON data. */
  data(
    name: string,
    json: string | undefined,
    from: string,
    receivers: number,
  ): void {
    if (name.startsWith("emd/")) return; // the tap's own output: never watched
    const atMs = Date.now();
    if (json === undefined) {
      return this.#add({ name, bytes: 0, from, receivers, atMs });
    }
    const preview = json.length > PREVIEW_CHARS
      ? json.slice(0, PREVIEW_CHARS - 1) + "…"
      : json;
    this.#add({ name, bytes: json.length, preview, from, receivers, atMs });
  }

  /** Drops every listener and the timer (the server stops). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
    this.#waitListeners.clear();
    this.#events = [];
    this.#added = 0;
  }

  #add(event: TappedEvent): void {
    this.#events[this.#added++ % TAP_MAX_PER_BATCH] = event;
  }

  #flush(): void {
    const added = this.#added;
    if (added === 0) return;
    const start = added % TAP_MAX_PER_BATCH;
    const events = added <= TAP_MAX_PER_BATCH
      ? this.#events
      : [...this.#events.slice(start), ...this.#events.slice(0, start)];
    const batch = { events, skipped: Math.max(0, added - TAP_MAX_PER_BATCH) };
    this.#events = [];
    this.#added = 0;
    for (const listener of this.#listeners) listener(batch);
  }
}
