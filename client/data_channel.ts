import {
  assertName,
  CallError,
  DATA_COMMANDS,
  EmError,
  encodeMessage,
  isValidExtendedName,
  isValidPattern,
  jsonParam,
  type JsonValue,
} from "../protocol/line_codec.ts";
import { EventStream, type Subscription } from "./event_stream.ts";

/** What the data channel needs from its client. */
export interface DataHost {
  /** `host:port`, for messages. */
  readonly where: string;
  /** True when connected with `receive: true`. */
  readonly receiving: boolean;
  /** The server's minor protocol version. */
  serverMinor(): number;
  /** The agreed message size. */
  maxLineBytes(): number;
  /** Queues text for the socket. */
  send(text: string): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * The 1.2 half of a client: numbered requests (`c`, `s`, `u`, `t`) answered by `r`/`x`, and the
 * streams that data events (`d`) and plain triggers feed.
 */
export class DataChannel {
  #host: DataHost;
  #pending = new Map<
    string,
    { resolve: (params: readonly string[]) => void; reject: (e: Error) => void }
  >();
  #streams = new Set<EventStream>();
  #subscribed = new Set<EventStream>(); // streams that asked the server with `s`
  #seq = 0;
  #error: EmError | undefined;

  constructor(host: DataHost) {
    this.#host = host;
  }

  /** `trigger(name, data)`: resolves with the receivers. */
  triggerData(name: string, data: JsonValue): Promise<number> {
    assertName(name, true);
    const json = jsonParam(data)!;
    return this.#request12("trigger", DATA_COMMANDS.TRIGGER, [name, json])
      .then((params) => Number(params[0]));
  }

  /** `call(verb, args)`: resolves with the reply's data. */
  call(verb: string, args?: JsonValue): Promise<JsonValue> {
    if (!isValidExtendedName(verb) || !verb.includes("/")) {
      throw new TypeError(`Invalid verb "${verb}": use api/verb`);
    }
    const json = jsonParam(args);
    const params = json === undefined ? [verb] : [verb, json];
    return this.#request12("call", DATA_COMMANDS.CALL, params).then((reply) =>
      reply[0] === undefined ? null : JSON.parse(reply[0]) as JsonValue
    );
  }

  /** `subscribe(nameOrPattern)`: a stream, registered before `s` is sent. */
  subscribe(pattern: string, signal?: AbortSignal): Subscription {
    assertPattern(pattern);
    if (!this.#host.receiving) {
      throw new TypeError(
        `Cannot subscribe to "${pattern}": connect with { receive: true }`,
      );
    }
    const stream = this.stream(pattern, true, signal);
    if (stream.done) { // aborted or closed already: nothing to ask
      stream.ready = Promise.reject(
        signal?.aborted ? signal.reason : this.#error,
      );
      stream.ready.catch(() => {});
      return stream;
    }
    stream.ready = this.#request12("subscribe", DATA_COMMANDS.SUBSCRIBE, [
      pattern,
    ]).then(() => {}, (error) => {
      stream.fail(error);
      throw error;
    });
    stream.ready.catch(() => {}); // also reported by the iterator
    return stream;
  }

  /** `events(pattern?)`: a local stream only. */
  events(pattern?: string, signal?: AbortSignal): Subscription {
    if (pattern !== undefined) assertPattern(pattern);
    return this.stream(pattern, false, signal);
  }

  #request12(
    what: string,
    letter: string,
    params: readonly string[],
  ): Promise<readonly string[]> {
    if (this.#host.serverMinor() < 2) {
      return Promise.reject(
        new EmError(
          "protocol",
          `Cannot ${what} on "${this.#host.where}": it speaks protocol 1.1`,
        ),
      );
    }
    return this.request(letter, params);
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
    if (bytes > this.#host.maxLineBytes()) {
      return Promise.reject(
        new RangeError(
          `Cannot send "${letter}" message: ${bytes} bytes, over the ${this.#host.maxLineBytes()} byte message limit`,
        ),
      );
    }
    const answered = new Promise<readonly string[]>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    this.#host.send(text).catch((error) => this.#settle(id, error));
    return answered;
  }

  /** Opens a local stream of events matching `pattern` (undefined: every event). */
  stream(
    pattern: string | undefined,
    subscribed: boolean,
    signal?: AbortSignal,
  ): EventStream {
    const onAbort = () => void this.#release(stream).catch(() => {}); // before the stream's own
    if (subscribed) signal?.addEventListener("abort", onAbort, { once: true });
    const stream: EventStream = new EventStream(
      pattern,
      signal,
      (self) => {
        this.#streams.delete(self);
        signal?.removeEventListener("abort", onAbort);
      },
      (self) => {
        self.end();
        return this.#release(self);
      },
    );
    if (this.#error !== undefined) stream.fail(this.#error);
    else {
      this.#streams.add(stream);
      if (subscribed && !stream.done) this.#subscribed.add(stream);
    }
    return stream;
  }

  /** Ends local streams of exactly `pattern` at once, then sends `u`. */
  unsubscribe(pattern: string): Promise<void> {
    assertPattern(pattern);
    for (const stream of [...this.#streams]) {
      if (stream.pattern !== pattern) continue;
      stream.end();
      this.#subscribed.delete(stream);
    }
    return this.#request12("unsubscribe", DATA_COMMANDS.UNSUBSCRIBE, [pattern])
      .then(() => {});
  }

  /** Sends `u` for a subscribed stream unless another subscribed stream still wants its pattern. */
  #release(stream: EventStream): Promise<void> {
    if (!this.#subscribed.delete(stream)) return Promise.resolve();
    for (const other of this.#subscribed) {
      if (other.pattern === stream.pattern) return Promise.resolve();
    }
    if (this.#error !== undefined) return Promise.resolve();
    return this.#request12("unsubscribe", DATA_COMMANDS.UNSUBSCRIBE, [
      stream.pattern,
    ]).then(() => {});
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

function assertPattern(pattern: string): void {
  if (!isValidPattern(pattern)) {
    throw new TypeError(
      `Invalid pattern "${pattern}": use [A-Za-z0-9_./*-], at most 255 characters`,
    );
  }
}
