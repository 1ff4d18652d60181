import type { JsonValue } from "../protocol/line_codec.ts";
import type { DataChannel } from "./data_channel.ts";
import type { Subscription } from "./event_stream.ts";
import type { SyncChannel } from "./sync_channel.ts";
import { SyncCondition } from "./_sync_hold.ts";
import type {
  BarrierOptions,
  Condition,
  Hold,
  LockOptions,
  SemaphoreOptions,
  WaitAnyOptions,
} from "./sync.ts";

/**
 * The 1.2 half of a client: data events, agent calls and sync, each handed to its channel. The
 * client that extends it owns the socket and feeds both channels.
 */
export abstract class DelegatingClient {
  /** Data events and agent calls. */
  protected abstract readonly data: DataChannel;
  /** Sync requests and their answers. */
  protected abstract readonly sync: SyncChannel;

  /** Sends `T<name>` (used by conditions to wake their waiters). */
  abstract trigger(name: string): Promise<void>;

  call(verb: string, args?: JsonValue): Promise<JsonValue> {
    return this.data.call(verb, args);
  }

  subscribe(
    nameOrPattern: string,
    options: { signal?: AbortSignal } = {},
  ): Subscription {
    return this.data.subscribe(nameOrPattern, options.signal);
  }

  unsubscribe(nameOrPattern: string): Promise<void> {
    return this.data.unsubscribe(nameOrPattern);
  }

  events(
    pattern?: string,
    options: { signal?: AbortSignal } = {},
  ): Subscription {
    return this.data.events(pattern, options.signal);
  }

  get syncAvailable(): boolean {
    return this.sync.available;
  }

  reset(name: string): Promise<void> {
    return this.sync.reset(name);
  }

  waitAny(
    names: readonly string[],
    timeoutMs: number,
    options?: WaitAnyOptions,
  ): Promise<string | null> {
    return this.sync.waitAny(names, timeoutMs, options);
  }

  lock(name: string, options?: LockOptions): Promise<Hold> {
    return this.sync.acquire(name, 1, options);
  }

  semaphore(
    name: string,
    permits: number,
    options?: SemaphoreOptions,
  ): Promise<Hold> {
    return this.sync.acquire(name, permits, options);
  }

  releaseLease(name: string, token: string): Promise<void> {
    return this.sync.release(name, token);
  }

  renewLease(name: string, token: string, ttlMs: number): Promise<void> {
    return this.sync.renew(name, token, ttlMs);
  }

  barrier(
    name: string,
    parties: number,
    options?: BarrierOptions,
  ): Promise<void> {
    return this.sync.barrier(name, parties, options);
  }

  condition(name: string): Condition {
    return new SyncCondition(this.sync, name, (event) => this.trigger(event));
  }
}
