import {
  assertName,
  EmError,
  encodeSyncRequest,
  isValidExtendedName,
  MAX_SYNC_COUNT,
  MAX_TTL_MS,
  type Message,
  parseSyncReply,
  type SyncReply,
  type SyncRequest,
} from "../protocol/line_codec.ts";
import type {
  BarrierOptions,
  Hold,
  SemaphoreOptions,
  WaitAnyOptions,
} from "./sync.ts";
import { SyncHold } from "./_sync_hold.ts";
import { AnyWait } from "./_any_wait.ts";
import { syncError, unexpectedReply } from "./_replies.ts";

/** What the sync channel needs from its client. */
export interface SyncHost {
  /** `host:port`, for messages. */
  readonly where: string;
  /** True when connected with `receive: true`. */
  readonly receiving: boolean;
  /** The sync version the server announced, if any. */
  syncVersion(): string | undefined;
  /** Queues text for the socket. */
  send(text: string): Promise<void>;
  /** The agreed message size. */
  maxLineBytes(): number;
  /** Asks the trigger memory for any of `names` (as `wait` does). */
  requestAny(
    names: readonly string[],
    resolve: (name: string) => void,
  ): string | (() => void);
  /** A round trip to the server (or only our writes, with a 1.1 server). */
  flush(): Promise<void>;
}

type Pending = {
  resolve: (reply: SyncReply) => void;
  reject: (error: Error) => void;
};

/** Requests of protocol 1.2 sync (`l z w k v m b q`) and their answers. */
export class SyncChannel {
  #host: SyncHost;
  #pending = new Map<string, Pending>();
  #failures = new Set<(error: Error) => void>();
  #seq = 0;
  #error: EmError | undefined;

  constructor(host: SyncHost) {
    this.#host = host;
  }

  /** True when the server announced sync. */
  get available(): boolean {
    return this.#host.syncVersion() !== undefined;
  }

  /** `trigger(name, { latch: true })`. */
  async latch(name: string): Promise<void> {
    assertName(name);
    expectOk(await this.#ask("latch", { kind: "latch", id: this.#id(), name }));
  }

  /** `reset(name)`. */
  async reset(name: string): Promise<void> {
    assertName(name);
    expectOk(await this.#ask("reset", { kind: "reset", id: this.#id(), name }));
  }

  /** `waitAny(names, timeoutMs, options)`. */
  waitAny(
    names: readonly string[],
    timeoutMs: number,
    options: WaitAnyOptions = {},
  ): Promise<string | null> {
    if (names.length === 0) throw new TypeError("Cannot wait for no events");
    for (const name of names) assertName(name);
    if (!this.#host.receiving) {
      throw new TypeError(
        `Cannot wait for "${names.join(",")}": connect with { receive: true }`,
      );
    }
    const bytes = names.join(",").length + 40; // "w", the id, the line end, with room to spare
    if (
      this.#host.syncVersion() !== undefined &&
      bytes > this.#host.maxLineBytes()
    ) {
      throw new RangeError(
        `Cannot wait for ${names.length} events: the names are over the ${this.#host.maxLineBytes()} byte message limit`,
      );
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    return new Promise((resolve, reject) => {
      new AnyWait(this, names, timeoutMs, options, resolve, reject).start();
    });
  }

  /**
   * `lock` and `semaphore`. Without a timeout or a signal there is nothing to withdraw: one
   * request, one promise, no async frames (the uncontended lock is a hot path).
   */
  acquire(
    name: string,
    permits: number,
    options: SemaphoreOptions = {},
  ): Promise<Hold> {
    const { count = 1, ttlMs, timeoutMs = -1, signal } = options;
    try {
      checkSyncName(name);
      checkCount("permits", permits, MAX_SYNC_COUNT);
      checkCount("count", count, permits);
      if (ttlMs !== undefined) checkCount("ttlMs", ttlMs, MAX_TTL_MS);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#id();
    const request: SyncRequest = ttlMs === undefined
      ? { kind: "acquire", id, name, permits, count }
      : { kind: "acquire", id, name, permits, count, ttlMs };
    const grant = (reply: SyncReply): SyncHold => {
      if (reply.kind !== "granted") throw unexpectedReply(reply);
      return new SyncHold(this, {
        name,
        permits,
        count,
        ttlMs,
        token: reply.token,
      });
    };
    if (timeoutMs < 0 && signal === undefined) {
      return this.#ask(`acquire "${name}"`, request).then(grant);
    }
    return this.#acquireWithdrawable(request, grant, timeoutMs, signal);
  }

  async #acquireWithdrawable(
    request: Extract<SyncRequest, { kind: "acquire" }>,
    grant: (reply: SyncReply) => SyncHold,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<Hold> {
    const { name } = request;
    const { reply, gaveUp } = await this.#askWithdrawable(
      `acquire "${name}"`,
      request,
      { timeoutMs, ...(signal === undefined ? {} : { signal }) },
      `Cannot acquire "${name}": not granted within ${timeoutMs} ms`,
    );
    const hold = grant(reply);
    if (gaveUp === "abort") {
      await hold.release().catch(() => {});
      throw signal!.reason;
    }
    return hold;
  }

  /** `releaseLease` and a hold's release. */
  release(name: string, token: string): Promise<void> {
    try {
      checkSyncName(name);
    } catch (error) {
      return Promise.reject(error);
    }
    const id = this.#id();
    return this.#ask(`release "${name}"`, { kind: "release", id, name, token })
      .then(expectOk);
  }

  /** `renewLease` and a hold's renew. */
  async renew(name: string, token: string, ttlMs: number): Promise<void> {
    checkSyncName(name);
    checkCount("ttlMs", ttlMs, MAX_TTL_MS);
    const id = this.#id();
    expectOk(
      await this.#ask(`renew "${name}"`, {
        kind: "renew",
        id,
        name,
        token,
        ttlMs,
      }),
    );
  }

  /** `barrier(name, parties, options)`. */
  async barrier(
    name: string,
    parties: number,
    options: BarrierOptions = {},
  ): Promise<void> {
    const { timeoutMs = -1, signal } = options;
    checkSyncName(name);
    checkCount("parties", parties, MAX_SYNC_COUNT);
    const request: SyncRequest = {
      kind: "barrier",
      id: this.#id(),
      name,
      parties,
    };
    const { reply, gaveUp } = await this.#askWithdrawable(
      `arrive at "${name}"`,
      request,
      { timeoutMs, signal },
      `Cannot pass barrier "${name}": ${parties} parties did not arrive within ${timeoutMs} ms`,
    );
    if (reply.kind !== "ok") throw unexpectedReply(reply);
    if (gaveUp === "abort") throw signal!.reason;
  }

  /**
   * Sends `w` for a wait (a 1.2 server with sync) and reports the answer; without sync, confirms
   * with a round trip instead.
   */
  confirmWait(
    names: readonly string[],
    onAnswer: (latched: string | undefined) => void,
    onError: (error: Error) => void,
  ): () => void {
    if (this.#host.syncVersion() === undefined) {
      let live = true;
      this.#host.flush().then(
        () => live && onAnswer(undefined),
        (e) => live && onError(e),
      );
      return () => live = false;
    }
    const id = this.#id();
    this.#ask("wait", { kind: "wait", id, names }).then((reply) => {
      if (reply.kind === "latched") onAnswer(reply.name);
      else if (reply.kind === "ok") onAnswer(undefined);
      else onError(unexpectedReply(reply));
    }, onError);
    return () => void this.#pending.delete(id); // the answer is no longer wanted
  }

  /** The memory request of a wait. */
  requestAny(
    names: readonly string[],
    resolve: (name: string) => void,
  ): string | (() => void) {
    return this.#host.requestAny(names, resolve);
  }

  /** Registers a listener for the connection's end; returns its removal. */
  onFailure(listener: (error: Error) => void): () => void {
    if (this.#error !== undefined) {
      listener(this.#error);
      return () => {};
    }
    this.#failures.add(listener);
    return () => this.#failures.delete(listener);
  }

  /** Handles `o y g q` and an `e` naming a request; returns false for other messages. */
  onMessage(message: Message): boolean {
    const reply = parseSyncReply(message);
    if (reply === undefined) return false;
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return true; // an answer nobody waits for any more
    this.#pending.delete(reply.id);
    if (reply.kind === "error") pending.reject(syncError(reply));
    else pending.resolve(reply);
    return true;
  }

  /** Fails every pending request and wait. */
  fail(error: EmError): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
    for (const listener of [...this.#failures]) listener(error);
    this.#failures.clear();
  }

  #id(): string {
    return `s${++this.#seq}`;
  }

  /** Sends a request; resolves with its answer; an `e` answer rejects with an `EmError`. */
  #ask(what: string, request: SyncRequest): Promise<SyncReply> {
    if (this.#host.syncVersion() === undefined) {
      return Promise.reject(
        new EmError(
          "protocol",
          `Cannot ${what} on "${this.#host.where}": the server does not offer sync`,
        ),
      );
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const answered = new Promise<SyncReply>((resolve, reject) => { // `e`: rejected by onMessage
      this.#pending.set(request.id, { resolve, reject });
    });
    this.#host.send(encodeSyncRequest(request) + "\n").catch((error) => {
      const pending = this.#pending.get(request.id);
      this.#pending.delete(request.id);
      pending?.reject(error);
    });
    return answered;
  }

  /** Sends a request that waits; on timeout or abort withdraws it and still takes its answer. */
  /**
   * Asks, withdrawing the request when `timeoutMs` passes or `signal` aborts. A withdrawn request
   * throws: the signal's reason, or EmError "timeout" with `timeoutText`. A reply that raced the
   * withdrawal is returned with `gaveUp` set, for the caller to undo.
   */
  async #askWithdrawable(
    what: string,
    request: SyncRequest,
    { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal },
    timeoutText: string,
  ): Promise<{ reply: SyncReply; gaveUp: "timeout" | "abort" | undefined }> {
    if (signal?.aborted) throw signal.reason;
    if (timeoutMs < 0 && signal === undefined) { // nothing to withdraw for: no timer, no listener
      return { reply: await this.#ask(what, request), gaveUp: undefined };
    }
    let gaveUp: "timeout" | "abort" | undefined;
    const withdraw = (why: "timeout" | "abort"): void => {
      if (gaveUp !== undefined) return;
      gaveUp = why;
      this.#host.send(
        encodeSyncRequest({ kind: "withdraw", id: request.id }) + "\n",
      )
        .catch(() => {}); // a closed connection rejects the request itself
    };
    const timer = timeoutMs >= 0
      ? setTimeout(() => withdraw("timeout"), timeoutMs)
      : undefined;
    const onAbort = (): void => withdraw("abort");
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const reply = await this.#ask(what, request);
      if (reply.kind === "withdrawn") {
        throw gaveUp === "abort"
          ? signal!.reason
          : new EmError("timeout", timeoutText);
      }
      return { reply, gaveUp };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }
}

function expectOk(reply: SyncReply): void {
  if (reply.kind !== "ok") throw unexpectedReply(reply);
}

function checkSyncName(name: string): void {
  if (!isValidExtendedName(name)) {
    throw new TypeError(
      `Invalid name "${name}": use 1 to 255 characters of [A-Za-z0-9_./-], not starting with . / -`,
    );
  }
}

function checkCount(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(
      `Invalid ${what} "${value}": use an integer from 1 to ${max}`,
    );
  }
}
