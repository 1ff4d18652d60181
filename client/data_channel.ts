import {
  CallError,
  compilePattern,
  DATA_COMMANDS,
  type EmError,
  encodeMessage,
  type JsonValue,
} from "../protocol/mod.ts";

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

const encoder = new TextEncoder();
const MAX_BUFFERED = 10_000;

/**
 * The 1.2 half of a client: numbered requests (`c`, `s`, `u`, `t`) answered by `r`/`x`, and the
 * streams that data events (`d`) and plain triggers feed.
 */
export class DataChannel {
  #send: (text: string) => Promise<void>;
  #maxLineBytes: () => number;
  #pending = new Map<
    string,
    { resolve: (params: readonly string[]) => void; reject: (e: Error) => void }
  >();
  #streams = new Set<EventStream>();
  #seq = 0;
  #error: EmError | undefined;

  constructor(
    send: (text: string) => Promise<void>,
    maxLineBytes: () => number,
  ) {
    this.#send = send;
    this.#maxLineBytes = maxLineBytes;
  }

  /**
   * Sends a numbered request; resolves with the reply's parameters after the id.
   * @throws {RangeError} when the message is over the agreed limit (nothing is sent)
   * @throws {CallError} on an `x` reply
   */
  request(
    letter: string,
    params: readonly string[],
  ): Promise<readonly string[]> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const id = String(++this.#seq);
    const text = encodeMessage({ letter, params: [id, ...params] }) + "\n";
    const bytes = encoder.encode(text).byteLength;
    if (bytes > this.#maxLineBytes()) {
      return Promise.reject(
        new RangeError(
          `Cannot send "${letter}" message: ${bytes} bytes, over the ${this.#maxLineBytes()} byte message limit`,
        ),
      );
    }
    const answered = new Promise<readonly string[]>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    this.#send(text).catch((error) => this.#settle(id, error));
    return answered;
  }

  /** Opens a local stream of events matching `pattern` (undefined: every event). */
  stream(
    pattern: string | undefined,
    subscribed: boolean,
    signal?: AbortSignal,
  ): EventStream {
    const stream = new EventStream(
      pattern,
      signal,
      () => this.#streams.delete(stream),
      (self) =>
        subscribed ? this.#unsubscribe(self) : (self.end(), Promise.resolve()),
    );
    if (this.#error !== undefined) stream.fail(this.#error);
    else this.#streams.add(stream);
    return stream;
  }

  /** Ends local streams of exactly `pattern` at once, then sends `u`. */
  unsubscribe(pattern: string): Promise<void> {
    for (const stream of [...this.#streams]) {
      if (stream.pattern === pattern) stream.end();
    }
    return this.request(DATA_COMMANDS.UNSUBSCRIBE, [pattern]).then(() => {});
  }

  #unsubscribe(stream: EventStream): Promise<void> {
    stream.end();
    if (stream.pattern === undefined) return Promise.resolve();
    for (const other of this.#streams) {
      if (other.pattern === stream.pattern) return Promise.resolve(); // another still wants it
    }
    if (this.#error !== undefined) return Promise.resolve();
    return this.request(DATA_COMMANDS.UNSUBSCRIBE, [stream.pattern]).then(
      () => {},
    );
  }

  /** Handles `r`, `x` and `d`; returns false for other letters. */
  onMessage(letter: string, params: readonly string[]): boolean {
    if (letter === DATA_COMMANDS.REPLY) {
      this.#settle(params[0] ?? "", undefined, params.slice(1));
    } else if (letter === DATA_COMMANDS.FAIL) {
      const [id = "", code = "failed", message = "failed"] = params;
      this.#settle(id, new CallError(code, message));
    } else if (letter === DATA_COMMANDS.DATA) {
      const [name = "", json] = params;
      let data: JsonValue | undefined;
      try {
        data = json === undefined ? undefined : JSON.parse(json) as JsonValue;
      } catch {
        return true; // the server sent invalid JSON: skipped, as a message we cannot read
      }
      this.onEvent(name, data);
    } else return false;
    return true;
  }

  /** Feeds an arriving event (data or plain trigger) to matching streams. */
  onEvent(name: string, data: JsonValue | undefined): void {
    for (const stream of this.#streams) stream.push({ name, data });
  }

  /** Fails every pending request and stream. */
  fail(error: EmError): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
    for (const stream of [...this.#streams]) stream.fail(error);
    this.#streams.clear();
  }

  #settle(
    id: string,
    error: Error | undefined,
    params: readonly string[] = [],
  ): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    if (error === undefined) pending.resolve(params);
    else pending.reject(error);
  }
}

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
  #onEnd: () => void;
  #onUnsubscribe: (stream: EventStream) => Promise<void>;
  #onAbort = (): void => this.fail(this.#signal!.reason);

  constructor(
    pattern: string | undefined,
    signal: AbortSignal | undefined,
    onEnd: () => void,
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
    this.#onEnd();
  }
}
