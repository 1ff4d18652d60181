import { assertName, EmError } from "../protocol/line_codec.ts";
import type { WaitOptions } from "./_deadline.ts";
import type { Condition, Hold } from "./sync.ts";

/** What a hold and a condition need from the sync channel. */
export interface HoldHost {
  acquire(
    name: string,
    permits: number,
    options: { count: number; ttlMs?: number; signal?: AbortSignal },
  ): Promise<Hold>;
  release(name: string, token: string): Promise<void>;
  renew(name: string, token: string, ttlMs: number): Promise<void>;
  waitAny(
    names: readonly string[],
    timeoutMs: number,
    options: { signal?: AbortSignal; onReady?: () => void },
  ): Promise<string | null>;
}

/** What a hold was granted. */
export interface Grant {
  readonly name: string;
  readonly permits: number;
  readonly count: number;
  readonly ttlMs: number | undefined;
  readonly token: string;
}

/** A hold of a mutex or semaphore. */
export class SyncHold implements Hold {
  readonly name: string;
  readonly permits: number;
  readonly count: number;
  readonly ttlMs: number | undefined;
  #host: Pick<HoldHost, "release" | "renew" | "acquire">;
  #token: string;
  #held = true;

  constructor(
    host: Pick<HoldHost, "release" | "renew" | "acquire">,
    grant: Grant,
  ) {
    this.#host = host;
    this.name = grant.name;
    this.permits = grant.permits;
    this.count = grant.count;
    this.ttlMs = grant.ttlMs;
    this.#token = grant.token;
  }

  get token(): string {
    return this.#token;
  }

  get lease(): boolean {
    return this.ttlMs !== undefined;
  }

  get held(): boolean {
    return this.#held;
  }

  release(): Promise<void> {
    if (!this.#held) return Promise.resolve();
    this.#held = false;
    return this.#host.release(this.name, this.#token); // async: never throws, rejects
  }

  renew(ttlMs: number): Promise<void> {
    return this.#host.renew(this.name, this.#token, ttlMs);
  }

  /** Takes the same permits again after a release (a condition wait); the token changes. */
  async retake(signal?: AbortSignal): Promise<void> {
    const again = await this.#host.acquire(this.name, this.permits, {
      count: this.count,
      ...(this.ttlMs === undefined ? {} : { ttlMs: this.ttlMs }),
      ...(signal === undefined ? {} : { signal }),
    });
    this.#token = again.token;
    this.#held = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.release();
    } catch (error) {
      // a bound hold ends with its connection anyway; a lease that expired is not an error here
      if (
        !(error instanceof EmError) ||
        !["closed", "refused"].includes(error.code)
      ) throw error;
    }
  }
}

/** A condition variable: notification by the plain trigger `em_cond_<name>`. */
export class SyncCondition implements Condition {
  readonly name: string;
  #event: string;
  #host: HoldHost;
  #trigger: (event: string) => Promise<void>;

  /** @param trigger sends a plain trigger */
  constructor(
    host: HoldHost,
    name: string,
    trigger: (event: string) => Promise<void>,
  ) {
    assertName(name);
    this.#event = `em_cond_${name}`;
    assertName(this.#event);
    this.name = name;
    this.#host = host;
    this.#trigger = trigger;
  }

  async wait(hold: Hold, options: WaitOptions = {}): Promise<boolean> {
    if (!(hold instanceof SyncHold) || !hold.held) {
      throw new TypeError(
        `Cannot wait on "${this.name}": the hold is not held`,
      );
    }
    let released: Promise<void> | undefined;
    let notified: string | null;
    try {
      notified = await this.#host.waitAny(
        [this.#event],
        options.timeoutMs ?? -1,
        {
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          onReady: () => released = hold.release(),
        },
      );
    } finally {
      await released; // subscribed first, then released: no notification is lost in between
      if (released !== undefined) await hold.retake(); // even after an abort: the mutex comes back
    }
    return notified !== null;
  }

  notify(): Promise<void> {
    return this.#trigger(this.#event);
  }

  notifyAll(): Promise<void> {
    return this.#trigger(this.#event);
  }
}
