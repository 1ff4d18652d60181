/**
 * em for web pages (and Deno): x-afb-ws-json1 over the platform's WebSocket. emd serves this
 * module, bundled, at `/em.js`:
 *
 * ```js
 * import { connect } from "/em.js";
 * const em = await connect(); // ws(s)://<the page's host>/api
 * console.log(await em.call("speed/get"));
 * for await (const { event, data } of em.subscribe("speed/*")) console.log(event, data);
 * ```
 * @module
 */
import {
  AFB_CODES,
  AFB_SUBPROTOCOL,
  compilePattern,
  type JsonValue,
} from "../../protocol/mod.ts";

/** A verb or `em` call failed: `status` is em's failure code (`unknown-verb`, `timeout`, …). */
export class EmCallError extends Error {
  /** The failure code from the reply's `request.status`. */
  readonly status: string;
  /**
   * @param status the failure code
   * @param message the reply's `request.info`
   */
  constructor(status: string, message: string) {
    super(message);
    this.name = "EmCallError";
    this.status = status;
  }
}

/** The connection closed (or could not open); pending calls reject with it. */
export class EmClosedError extends Error {
  /** The WebSocket close code (1006: closed without one). */
  readonly code: number;
  /**
   * @param code the close code
   * @param message why
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "EmClosedError";
    this.code = code;
  }
}

/** Options of {@link connect}. */
export interface WebConnectOptions {
  /** The shared secret of an emd that requires one (only over `wss:` beyond loopback). */
  readonly token?: string;
  /** Aborts the connecting. */
  readonly signal?: AbortSignal;
}

/** Options of one call. */
export interface CallOptions {
  /** Stops waiting for the answer (the call itself may still run on the server). */
  readonly signal?: AbortSignal;
}

/** An event as it arrived: its full name and its data (`null` for a plain trigger). */
export interface WebEvent {
  readonly event: string;
  readonly data: JsonValue;
}

/** An open connection to emd. */
export interface EmWebClient {
  /** Calls an agent's verb (`api/verb`); resolves with the reply data. */
  call(
    verb: string,
    args?: JsonValue,
    options?: CallOptions,
  ): Promise<JsonValue>;
  /** Triggers `event` (with data, or latched); resolves with how many received it (null when latched). */
  trigger(
    event: string,
    data?: JsonValue,
    options?: CallOptions & { readonly latch?: boolean },
  ): Promise<number | null>;
  /** Waits for the first of `events` to fire (or be latched); resolves with its name. */
  wait(
    events: string | readonly string[],
    options?: CallOptions & { readonly timeoutMs?: number },
  ): Promise<string>;
  /** `em/subscribe`s to a name or pattern and iterates its events until `signal` or close. */
  subscribe(pattern: string, options?: CallOptions): AsyncIterable<WebEvent>;
  /** Iterates events already sent to this connection (e.g. after an agent's join verb), matching `pattern`. */
  events(pattern?: string, options?: CallOptions): AsyncIterable<WebEvent>;
  /** Settles once closed, with the reason. */
  readonly closed: Promise<EmClosedError>;
  /** Closes the connection. */
  close(): void;
}

/**
 * Opens a connection to emd's WebSocket endpoint.
 * @param url `ws:`/`wss:` URL of `/api`; default: `/api` beside this module (the serving emd)
 * @param options token and abort signal
 * @returns the open client
 * @throws {EmClosedError} when the connection cannot be opened
 */
export function connect(
  url?: string | URL,
  options: WebConnectOptions = {},
): Promise<EmWebClient> {
  const target = new URL(url ?? new URL("/api", import.meta.url));
  if (target.protocol === "http:") target.protocol = "ws:";
  if (target.protocol === "https:") target.protocol = "wss:";
  if (options.token !== undefined) {
    target.searchParams.set("token", options.token);
  }
  const socket = new WebSocket(target, AFB_SUBPROTOCOL);
  return new Promise((resolve, reject) => {
    const signal = options.signal;
    const abort = () => {
      socket.close();
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", abort, { once: true });
    socket.onopen = () => {
      signal?.removeEventListener("abort", abort);
      resolve(new Client(socket));
    };
    socket.onerror = () => {
      signal?.removeEventListener("abort", abort);
      reject(new EmClosedError(1006, `Cannot connect to "${target}"`));
    };
  });
}

type Pending = {
  resolve: (data: JsonValue) => void;
  reject: (error: Error) => void;
};
type Listener = (event: WebEvent) => void;

class Client implements EmWebClient {
  readonly closed: Promise<EmClosedError>;
  #socket: WebSocket;
  #pending = new Map<string, Pending>();
  #listeners = new Set<Listener>();
  #next = 0;
  #closedError: EmClosedError | undefined;

  constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (message) => this.#onMessage(message.data);
    this.closed = new Promise((resolve) => {
      socket.onclose = (event) => {
        const error = new EmClosedError(
          event.code,
          `Connection closed: ${event.reason || event.code}`,
        );
        this.#closedError = error;
        for (const pending of this.#pending.values()) pending.reject(error);
        this.#pending.clear();
        for (const listener of this.#listeners) {
          listener({ event: "", data: null });
        }
        resolve(error);
      };
    });
  }

  call(
    verb: string,
    args: JsonValue = null,
    options: CallOptions = {},
  ): Promise<JsonValue> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const id = String(++this.#next);
    return new Promise((resolve, reject) => {
      const signal = options.signal;
      if (signal?.aborted) return reject(signal.reason);
      const abort = () => {
        this.#pending.delete(id);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", abort, { once: true });
      const done = () => signal?.removeEventListener("abort", abort);
      this.#pending.set(id, {
        resolve: (data) => (done(), resolve(data)),
        reject: (error) => (done(), reject(error)),
      });
      this.#socket.send(JSON.stringify([AFB_CODES.CALL, id, verb, args]));
    });
  }

  async trigger(
    event: string,
    data?: JsonValue,
    options: CallOptions & { readonly latch?: boolean } = {},
  ): Promise<number | null> {
    const args: Record<string, JsonValue> = { event };
    if (data !== undefined) args.data = data;
    if (options.latch) args.latch = true;
    const reply = await this.call("em/trigger", args, options) as {
      receivers: number | null;
    };
    return reply.receivers;
  }

  async wait(
    events: string | readonly string[],
    options: CallOptions & { readonly timeoutMs?: number } = {},
  ): Promise<string> {
    const args: Record<string, JsonValue> = {
      events: typeof events === "string" ? [events] : [...events],
    };
    if (options.timeoutMs !== undefined) args.timeoutMs = options.timeoutMs;
    const reply = await this.call("em/wait", args, options) as {
      event: string;
    };
    return reply.event;
  }

  async *subscribe(
    pattern: string,
    options: CallOptions = {},
  ): AsyncIterable<WebEvent> {
    const events = this.events(pattern, options)[Symbol.asyncIterator]();
    await this.call("em/subscribe", { event: pattern }, options);
    try {
      for (;;) {
        const next = await events.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await events.return?.();
      if (!this.#closedError) {
        void this.call("em/unsubscribe", { event: pattern }).catch(() => {});
      }
    }
  }

  events(pattern = "**", options: CallOptions = {}): AsyncIterable<WebEvent> {
    const matches = compilePattern(pattern);
    const queue: WebEvent[] = [];
    let wake: (() => void) | undefined;
    const listener: Listener = (event) => {
      if (event.event === "" || matches(event.event)) {
        queue.push(event);
        wake?.();
      }
    };
    this.#listeners.add(listener);
    const signal = options.signal;
    const onAbort = () => wake?.();
    signal?.addEventListener("abort", onAbort);
    const stop = () => {
      this.#listeners.delete(listener);
      signal?.removeEventListener("abort", onAbort);
    };
    const closed = () => this.#closedError !== undefined;
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<WebEvent>> => {
          while (queue.length === 0 && !closed() && !signal?.aborted) {
            await new Promise<void>((resolve) => (wake = resolve));
          }
          const event = queue.shift();
          if (event === undefined || event.event === "" || signal?.aborted) {
            stop();
            return { done: true, value: undefined };
          }
          return { done: false, value: event };
        },
        return: () => {
          stop();
          return Promise.resolve({ done: true, value: undefined });
        },
      }),
    };
  }

  close(): void {
    this.#socket.close(1000, "Client closed");
  }

  #onMessage(text: unknown): void {
    if (typeof text !== "string") return;
    const message = JSON.parse(text) as [number, string, JsonValue];
    const [code, first, body] = message;
    if (code === AFB_CODES.EVENT) {
      const event = {
        event: first,
        data: (body as { data?: JsonValue })?.data ?? null,
      };
      for (const listener of this.#listeners) listener(event);
      return;
    }
    const pending = this.#pending.get(first);
    if (pending === undefined) return;
    this.#pending.delete(first);
    const reply = body as {
      request?: { status?: string; info?: string };
      response?: JsonValue;
    };
    if (code === AFB_CODES.REPLY) {
      return pending.resolve(reply.response ?? null);
    }
    pending.reject(
      new EmCallError(
        reply.request?.status ?? "failed",
        reply.request?.info ?? "",
      ),
    );
  }
}
