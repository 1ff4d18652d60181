import { compilePattern, type JsonValue } from "../protocol/line_codec.ts";

/** One data event as a client receives it. */
export interface DataEvent {
  /** The event's full name, e.g. `speed/kmh-1Hz`. */
  readonly name: string;
  /** Its JSON data; undefined for an event without data (a plain trigger). */
  readonly data: JsonValue | undefined;
}

/** Events matching a name or pattern, as an async iterable; ends on unsubscribe or close. */
export interface Subscription
  extends AsyncIterable<DataEvent>, AsyncDisposable {
  /** The name or pattern. */
  readonly pattern: string;
  /**
   * Settles once the server has confirmed (events published after that reach this subscription).
   * @throws {CallError} failure "cannot-receive" or "bad-request"
   */
  readonly ready: Promise<void>;
  /** Events dropped because more than the buffer limit were waiting to be pulled. */
  readonly dropped: number;
  /** Stops at once locally, then tells the server; resolves once it has confirmed. */
  unsubscribe(): Promise<void>;
}

const MAX_BUFFERED = 10_000;

/** A buffered async iterable of data events matching one pattern. */
export class EventStream implements Subscription, AsyncIterator<DataEvent> {
  readonly pattern: string;
  ready: Promise<void> = Promise.resolve();
  #matches: (name: string) => boolean;
  #buffer: DataEvent[] = [];
  #dropped = 0;
  #waiting:
    | {
      resolve: (r: IteratorResult<DataEvent>) => void;
      reject: (e: unknown) => void;
    }
    | undefined;
  #error: unknown;
  #done = false;
  #signal: AbortSignal | undefined;
  #onEnd: (self: EventStream) => void;
  #onUnsubscribe: (stream: EventStream) => Promise<void>;
  #onAbort = (): void => this.fail(this.#signal!.reason);

  constructor(
    pattern: string | undefined,
    signal: AbortSignal | undefined,
    onEnd: (self: EventStream) => void,
    onUnsubscribe: (stream: EventStream) => Promise<void>,
  ) {
    this.pattern = pattern as string;
    this.#matches = pattern === undefined
      ? () => true
      : compilePattern(pattern);
    this.#signal = signal;
    this.#onEnd = onEnd;
    this.#onUnsubscribe = onUnsubscribe;
    if (signal?.aborted) this.fail(signal.reason);
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** True once ended (unsubscribed, aborted, failed). */
  get done(): boolean {
    return this.#done;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** Records an event if it matches. */
  push(event: DataEvent): void {
    if (this.#done || !this.#matches(event.name)) return;
    if (this.#waiting !== undefined) {
      const { resolve } = this.#waiting;
      this.#waiting = undefined;
      return resolve({ value: event, done: false });
    }
    this.#buffer.push(event);
    if (this.#buffer.length > MAX_BUFFERED) {
      this.#buffer.shift();
      this.#dropped++;
    }
  }

  /** Ends with an error after the buffered events. */
  fail(error: unknown): void {
    if (this.#done) return;
    this.#error = error;
    this.#finish();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
  }

  /** Ends at once: buffered events are discarded, a pending `next` ends. */
  end(): void {
    this.#buffer = [];
    this.#finish();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve({ value: undefined, done: true });
  }

  unsubscribe(): Promise<void> {
    return this.#onUnsubscribe(this);
  }

  next(): Promise<IteratorResult<DataEvent>> {
    const event = this.#buffer.shift();
    if (event !== undefined) {
      return Promise.resolve({ value: event, done: false });
    }
    if (this.#done) {
      return this.#error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.#error);
    }
    return new Promise((resolve, reject) =>
      this.#waiting = { resolve, reject }
    );
  }

  return(): Promise<IteratorResult<DataEvent>> {
    this.unsubscribe().catch(() => {});
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<DataEvent> {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unsubscribe().catch(() => {});
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#onEnd(this);
  }
}
