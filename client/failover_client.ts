import { EmError, type Hello, type JsonValue } from "../protocol/line_codec.ts";
import type { WaitOptions } from "./_deadline.ts";
import type { ConnectOptions, EmClient, ServerAddress } from "./em_client.ts";
import type { Subscription } from "./event_stream.ts";
import type {
  BarrierOptions,
  Condition,
  Hold,
  LockOptions,
  SemaphoreOptions,
  TriggerOptions,
  WaitAnyOptions,
} from "./sync.ts";
import { FailoverStream } from "./_failover_stream.ts";
import {
  addressText,
  connectFirst,
  type ConnectOne,
} from "./_connect_first.ts";

export type { ConnectOne } from "./_connect_first.ts";

/**
 * A client over several servers (cluster nodes, docs/CLUSTER.md): connected to one at a time; when
 * that connection ends without `close()`, it connects to the next server that answers (round robin,
 * for up to `failoverTimeoutMs`) with the same options, so the receive flag comes back, subscribes
 * its open subscriptions again and carries on its waits, `triggers()` streams and pending sends.
 * Triggers sent while no node was connected to this client are not seen by its waits. Calls and
 * sync requests in flight fail with code "closed" (not repeated: they may have taken effect); sync
 * holds end with the connection that took them, as on one server.
 */
export class FailoverClient implements EmClient {
  readonly closed: Promise<EmError>;
  #servers: readonly ServerAddress[];
  #options: ConnectOptions;
  #connectOne: ConnectOne;
  #current: EmClient;
  #index: number;
  #reconnecting: Promise<EmClient> | undefined;
  #userClosed = false;
  #resolveClosed!: (reason: EmError) => void;
  #streams = new Set<FailoverStream>();

  private constructor(
    options: ConnectOptions,
    connectOne: ConnectOne,
    first: { client: EmClient; index: number },
  ) {
    this.#options = options;
    this.#servers = options.servers!;
    this.#connectOne = connectOne;
    this.#current = first.client;
    this.#index = first.index;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#watch(first.client);
  }

  /**
   * Connects to the first server of `options.servers` that answers.
   * @throws {EmError} the last server's error when none answers
   */
  static async open(
    options: ConnectOptions,
    connectOne: ConnectOne,
  ): Promise<FailoverClient> {
    const first = await connectFirst(options, connectOne, 0);
    return new FailoverClient(options, connectOne, first);
  }

  /** The server this client is connected to now, as `host:port`. */
  get serverAddress(): string {
    const { hostname = "127.0.0.1", port } = this.#servers[this.#index]!;
    return `${hostname}:${port}`;
  }

  #watch(client: EmClient): void {
    client.closed.then((reason) => {
      if (this.#userClosed || client !== this.#current) return;
      this.#reconnecting = this.#failOver(reason);
      this.#reconnecting.catch(() => {}); // told through closed, waits and streams
    });
  }

  async #failOver(reason: EmError): Promise<EmClient> {
    const timeoutMs = this.#options.failoverTimeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let last: unknown = reason;
    for (
      let attempt = 1;
      Date.now() < deadline && !this.#userClosed;
      attempt++
    ) {
      try {
        const next = await connectFirst(
          this.#options,
          this.#connectOne,
          this.#index + 1,
        );
        if (this.#userClosed) {
          await next.client.close();
          break;
        }
        this.#current = next.client;
        this.#index = next.index;
        this.#reconnecting = undefined;
        this.#watch(next.client);
        for (const stream of this.#streams) stream.rebind(next.client);
        return next.client;
      } catch (error) {
        last = error;
        await new Promise((resolve) =>
          setTimeout(resolve, Math.min(1_000, 100 * attempt))
        );
      }
    }
    const error = new EmError(
      "closed",
      `Cannot fail over: no server of "${
        this.#servers.map(addressText).join(",")
      }" answered within ${timeoutMs} ms: ${(last as Error)?.message ?? last}`,
    );
    this.#resolveClosed(error);
    for (const stream of this.#streams) stream.fail(error);
    throw error;
  }

  /** The connected client, once failing over is done. */
  #client(): Promise<EmClient> {
    if (this.#userClosed) {
      return Promise.reject(
        new EmError("closed", "Cannot use a closed client"),
      );
    }
    return this.#reconnecting ?? Promise.resolve(this.#current);
  }

  /** Runs `op`, again on the next node when the connection ended under it. */
  async #retry<T>(op: (client: EmClient) => Promise<T>): Promise<T> {
    for (;;) {
      const client = await this.#client();
      try {
        return await op(client);
      } catch (error) {
        if (!this.#lostUnder(error)) throw error;
        await client.closed;
      }
    }
  }

  /** True when `error` is the end of a connection we did not close: fail over and go on. */
  #lostUnder(error: unknown): boolean {
    return error instanceof EmError && error.code === "closed" &&
      !this.#userClosed;
  }

  get server(): Hello {
    return this.#current.server;
  }

  get receiving(): boolean {
    return this.#current.receiving;
  }

  get maxMessageBytes(): number {
    return this.#current.maxMessageBytes;
  }

  get syncAvailable(): boolean {
    return this.#current.syncAvailable;
  }

  wait(
    name: string,
    timeoutMs = -1,
    options: WaitOptions = {},
  ): Promise<boolean> {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    return this.#retry((client) =>
      client.wait(
        name,
        deadline === Infinity ? -1 : Math.max(0, deadline - Date.now()),
        options,
      )
    );
  }

  next(name: string, options: WaitOptions = {}): Promise<boolean> {
    return this.#retry((client) => client.next(name, options));
  }

  async *triggers(
    name: string,
    options: { signal?: AbortSignal } = {},
  ): AsyncIterable<string> {
    for (;;) {
      const client = await this.#client();
      try {
        yield* client.triggers(name, options);
        return;
      } catch (error) {
        if (options.signal?.aborted || !this.#lostUnder(error)) {
          throw error;
        }
        await client.closed;
      }
    }
  }

  trigger(name: string): Promise<void>;
  trigger(name: string, options: TriggerOptions): Promise<void>;
  trigger(name: string, data: JsonValue): Promise<number>;
  trigger(
    name: string,
    ...rest: [] | [JsonValue | TriggerOptions]
  ): Promise<void | number> {
    if (rest.length === 0) return this.#retry((client) => client.trigger(name));
    return this.#current.trigger(name, rest[0] as JsonValue);
  }

  call(verb: string, args?: JsonValue): Promise<JsonValue> {
    return this.#current.call(verb, args);
  }

  subscribe(
    nameOrPattern: string,
    options: { signal?: AbortSignal } = {},
  ): Subscription {
    return this.#stream(
      nameOrPattern,
      options.signal,
      (client) => client.subscribe(nameOrPattern, options),
    );
  }

  events(
    pattern?: string,
    options: { signal?: AbortSignal } = {},
  ): Subscription {
    return this.#stream(
      pattern ?? "**",
      options.signal,
      (client) => client.events(pattern, options),
    );
  }

  #stream(
    pattern: string,
    signal: AbortSignal | undefined,
    open: (client: EmClient) => Subscription,
  ): Subscription {
    const stream = new FailoverStream(pattern, open, this.#current, () => {
      this.#streams.delete(stream);
    });
    if (!signal?.aborted) this.#streams.add(stream);
    return stream;
  }

  async unsubscribe(nameOrPattern: string): Promise<void> {
    for (const stream of [...this.#streams]) {
      if (stream.pattern === nameOrPattern) await stream.unsubscribe();
    }
    await this.#current.unsubscribe(nameOrPattern);
  }

  reset(name: string): Promise<void> {
    return this.#current.reset(name);
  }

  waitAny(
    names: readonly string[],
    timeoutMs: number,
    options?: WaitAnyOptions,
  ): Promise<string | null> {
    const deadline = timeoutMs < 0 ? Infinity : Date.now() + timeoutMs;
    return this.#retry((client) =>
      client.waitAny(
        names,
        deadline === Infinity ? -1 : Math.max(0, deadline - Date.now()),
        options,
      )
    );
  }

  lock(name: string, options?: LockOptions): Promise<Hold> {
    return this.#current.lock(name, options);
  }

  semaphore(
    name: string,
    permits: number,
    options?: SemaphoreOptions,
  ): Promise<Hold> {
    return this.#current.semaphore(name, permits, options);
  }

  releaseLease(name: string, token: string): Promise<void> {
    return this.#current.releaseLease(name, token);
  }

  renewLease(name: string, token: string, ttlMs: number): Promise<void> {
    return this.#current.renewLease(name, token, ttlMs);
  }

  barrier(
    name: string,
    count: number,
    options?: BarrierOptions,
  ): Promise<void> {
    return this.#current.barrier(name, count, options);
  }

  condition(name: string): Condition {
    return this.#current.condition(name);
  }

  quit(serverName: string, options?: WaitOptions): Promise<void> {
    return this.#current.quit(serverName, options);
  }

  flush(options?: WaitOptions): Promise<void> {
    return this.#retry((client) => client.flush(options));
  }

  async close(): Promise<void> {
    if (!this.#userClosed) {
      this.#userClosed = true;
      for (const stream of [...this.#streams]) stream.end();
      const client = await this.#reconnecting?.catch(() => undefined) ??
        this.#current;
      await client.close().catch(() => {});
      this.#resolveClosed(await client.closed);
    }
    await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
