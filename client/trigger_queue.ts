import { EmError } from "../protocol/line_codec.ts";
import {
  connect,
  type ConnectOptions,
  type EmClient,
  type ServerAddress,
} from "./connect.ts";

/** Options of {@link openTriggerQueue}. */
export interface TriggerQueueOptions {
  /** The server's TCP port (ignored when `servers` is given). */
  readonly port: number;
  /**
   * The server's host name or address.
   * @default {"127.0.0.1"}
   */
  readonly hostname?: string;
  /**
   * Several servers (the nodes of a cluster): the queue connects to the first that answers and,
   * when it is lost or unreachable, tries the next ones in turn before pausing.
   * @default {[{ hostname, port }]}
   */
  readonly servers?: readonly ServerAddress[];
  /** Application name sent in the hello. */
  readonly appName?: string;
  /** The server's shared secret (see `connect`); an authentication failure ends the queue. */
  readonly secret?: string | Uint8Array;
  /** Speak TLS (see `connect`). */
  readonly tls?: ConnectOptions["tls"];
  /**
   * Milliseconds each connection attempt may take, hellos included (see `connect`).
   * @default {10000}
   */
  readonly connectTimeoutMs?: number;
  /** Also receive triggers, and end (`ended` settles with "quit") once this event is triggered. */
  readonly quitEvent?: string;
  /**
   * Triggers held while the server is unreachable; new ones are dropped past this, with a notice.
   * @default {10000}
   */
  readonly maxQueued?: number;
  /**
   * Reconnect when the server is unreachable or lost; false ends the queue instead.
   * @default {true}
   */
  readonly retry?: boolean;
  /**
   * Longest pause between reconnection attempts (pauses start at 100 ms and double).
   * @default {2000}
   */
  readonly retryMaxMs?: number;
  /** Called with one line for each change worth telling a person (lost, back, dropping). */
  readonly onNotice?: (line: string) => void;
  /** Called per trigger once the server has confirmed it (1.2) or it was written (1.1). */
  readonly onSent?: (event: string) => void;
}

/** Why a trigger queue ended: its quit event, `close()`, or the server lost with `retry: false`. */
export type QueueEnd = "quit" | "closed" | EmError;

/**
 * Triggers that survive a server restart: each is kept until the server confirmed it (a ping
 * round trip), so a trigger written into a dying connection is sent again (at least once).
 */
export interface TriggerQueue extends AsyncDisposable {
  /** Settles once the quit event arrives or (without retry) the server is lost. */
  readonly ended: Promise<QueueEnd>;
  /** Queues a trigger; drops it (with a notice) when `maxQueued` are already waiting. */
  push(event: string): void;
  /**
   * Resolves when fewer than `maxQueued` wait, or at once while the server is known to be away
   * (then `push` drops); while connected or first connecting, a full queue waits here instead.
   */
  room(): Promise<void>;
  /** Resolves once every queued trigger is confirmed, or the queue has ended. */
  drain(): Promise<void>;
  /** Stops sending and closes the connection; unsent triggers are discarded. Idempotent. */
  close(): Promise<void>;
}

const BATCH = 256;

/**
 * Starts a trigger queue connected (and reconnecting) to an em server.
 * @param options where to connect and how to behave while the server is away
 * @returns the queue; it connects in the background
 */
export function openTriggerQueue(options: TriggerQueueOptions): TriggerQueue {
  return new Queue(options);
}

class Queue implements TriggerQueue {
  readonly ended: Promise<QueueEnd>;
  #options: TriggerQueueOptions;
  #servers: readonly ServerAddress[];
  #current = 0; // the server tried first at the next attempt: the last one that answered
  #where: string;
  #queue: string[] = [];
  #dropped = 0;
  #away = false; // a connection attempt failed or the connection was lost: drop, do not wait
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #waiters = new Set<() => void>();
  #end!: (end: QueueEnd) => void;
  #done = false;
  #running: Promise<void>;

  constructor(options: TriggerQueueOptions) {
    this.#options = options;
    this.#servers = options.servers?.length ? options.servers : [{
      port: options.port,
      ...(options.hostname ? { hostname: options.hostname } : {}),
    }];
    this.#where = whereOf(this.#servers[0]!);
    this.ended = new Promise((resolve) => this.#end = resolve);
    this.#running = this.#run();
  }

  push(event: string): void {
    if (this.#queue.length >= (this.#options.maxQueued ?? 10_000)) {
      if (this.#dropped++ === 0) {
        this.#notice(
          `Queue full (${this.#queue.length} triggers): dropping new ones until "${this.#where}" takes them`,
        );
      }
      return;
    }
    this.#queue.push(event);
    this.#wake?.();
  }

  room(): Promise<void> {
    const max = this.#options.maxQueued ?? 10_000;
    return this.#until(() => this.#queue.length < max || this.#away);
  }

  drain(): Promise<void> {
    return this.#until(() => this.#queue.length === 0);
  }

  async close(): Promise<void> {
    this.#finish("closed");
    await this.#running;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #until(ready: () => boolean): Promise<void> {
    if (ready() || this.#done) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!ready() && !this.#done) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  #changed(): void {
    for (const check of [...this.#waiters]) check();
  }

  #notice(line: string): void {
    this.#options.onNotice?.(line);
  }

  #finish(end: QueueEnd): void {
    if (this.#done) return;
    this.#done = true;
    this.#end(end);
    this.#abort.abort();
    this.#wake?.();
    this.#changed();
  }

  async #run(): Promise<void> {
    const maxMs = this.#options.retryMaxMs ?? 2_000;
    let pauseMs = Math.min(100, maxMs);
    while (!this.#done) {
      const client = await this.#connect();
      if (client instanceof EmError) {
        if (this.#done) return;
        if (this.#options.retry === false || client.code === "auth") {
          return this.#finish(client); // a wrong secret stays wrong: retrying cannot help
        }
        if (!this.#away) this.#notice(`${client.message}; retrying`);
        this.#setAway(true);
        await pause(pauseMs, this.#abort.signal);
        pauseMs = Math.min(pauseMs * 2, maxMs);
        continue;
      }
      if (this.#away) this.#back();
      this.#setAway(false);
      pauseMs = Math.min(100, maxMs);
      const lost = await this.#serve(client);
      if (lost === undefined || this.#done) return;
      if (this.#options.retry === false) return this.#finish(lost);
      this.#notice(`${lost.message}; retrying`);
      this.#setAway(true);
      this.#current = (this.#current + 1) % this.#servers.length; // another node first
    }
  }

  /** Tries each server once, from the current one on; the last failure when none answered. */
  async #connect(): Promise<EmClient | EmError> {
    let failure: EmError | undefined;
    for (let tried = 0; tried < this.#servers.length; tried++) {
      const index = (this.#current + tried) % this.#servers.length;
      const client = await this.#connectTo(this.#servers[index]!);
      if (!(client instanceof EmError)) {
        this.#where = whereOf(this.#servers[index]!);
        this.#current = index;
        return client;
      }
      failure = client;
      if (this.#done || client.code === "auth") break;
    }
    return failure!;
  }

  async #connectTo(server: ServerAddress): Promise<EmClient | EmError> {
    try {
      return await connect({
        port: server.port,
        ...(server.hostname ? { hostname: server.hostname } : {}),
        ...(this.#options.appName ? { appName: this.#options.appName } : {}),
        ...(this.#options.secret ? { secret: this.#options.secret } : {}),
        ...(this.#options.tls ? { tls: this.#options.tls } : {}),
        ...(this.#options.connectTimeoutMs === undefined
          ? {}
          : { connectTimeoutMs: this.#options.connectTimeoutMs }),
        receive: this.#options.quitEvent !== undefined,
        signal: this.#abort.signal,
      });
    } catch (error) {
      if (error instanceof EmError) return error;
      if (this.#abort.signal.aborted) {
        return new EmError("closed", "Stopped");
      }
      throw error;
    }
  }

  #setAway(away: boolean): void {
    this.#away = away;
    this.#changed();
  }

  #back(): void {
    let line = `Connected again to "${this.#where}"`;
    if (this.#dropped > 0) {
      line += `; ${this.#dropped} triggers were dropped meanwhile`;
    }
    this.#dropped = 0;
    this.#notice(line);
  }

  /** Sends the queue until the connection is lost (returns why) or the queue ends. */
  async #serve(client: EmClient): Promise<EmError | undefined> {
    const quit = this.#options.quitEvent;
    if (quit !== undefined) {
      client.wait(quit).then(
        (seen) => seen && this.#finish("quit"),
        () => {},
      );
    }
    try {
      while (!this.#done) {
        if (this.#queue.length === 0) {
          const closed = await Promise.race([
            new Promise<undefined>((resolve) =>
              this.#wake = () => resolve(undefined)
            ),
            client.closed,
          ]);
          this.#wake = undefined;
          if (closed !== undefined) return closed;
          continue;
        }
        await this.#sendBatch(client);
      }
      return undefined;
    } catch (error) {
      if (error instanceof EmError) return this.#done ? undefined : error;
      throw error;
    } finally {
      this.#changed();
      await client.close();
    }
  }

  async #sendBatch(client: EmClient): Promise<void> {
    const batch = this.#queue.slice(0, BATCH);
    for (const event of batch) client.trigger(event).catch(() => {}); // flush reports the loss
    await client.flush({ timeoutMs: 10_000 });
    this.#queue.splice(0, batch.length);
    for (const event of batch) this.#options.onSent?.(event);
    this.#changed();
  }
}

function whereOf(server: ServerAddress): string {
  return `${server.hostname ?? "127.0.0.1"}:${server.port}`;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
