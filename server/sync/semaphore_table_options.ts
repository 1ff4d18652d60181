// What a SemaphoreTable (semaphores.ts) is built with, asked, answers and shows.
import type { Clock } from "./clock.ts";

/** What the semaphore table tells its server about requests that were waiting. */
export interface SemaphoreEvents<O> {
  /** True while `owner` can still be answered (its connection is open). */
  alive(owner: O): boolean;
  /** The waiting acquire `id` of `owner` was granted the hold `token`. */
  granted(owner: O, id: string, token: string): void;
  /** The waiting acquire `id` of `owner` failed (the store refused the lease). */
  failed(owner: O, id: string, error: Error): void;
  /** Something went wrong that nobody asked about (a lease expiry the store did not record). */
  warn(text: string): void;
}

/** One acquire: `count` permits of the semaphore `name` of size `permits`, a lease with `ttlMs`. */
export interface AcquireRequest {
  /** The request id, answered with the grant. */
  readonly id: string;
  /** The semaphore. */
  readonly name: string;
  /** Its size; must equal the size its holders and waiters used. */
  readonly permits: number;
  /** Permits wanted, 1 to `permits`. */
  readonly count: number;
  /** A lease of this many milliseconds; absent: the hold is bound to its owner. */
  readonly ttlMs?: number;
}

/** How a {@link SemaphoreTable} is built. */
export interface SemaphoreTableOptions<O> {
  /** The clock leases expire by. */
  readonly clock: Clock;
  /** Where the table reports on requests that were waiting. */
  readonly events: SemaphoreEvents<O>;
  /**
   * Makes the token of a grant.
   * @default {() => crypto.randomUUID()}
   */
  readonly newToken?: (request: AcquireRequest) => string;
  /**
   * Holds bound to one owner plus its waiting requests, at most; one more is refused.
   * @default {10000}
   */
  readonly maxPerOwner?: number;
  /**
   * Leases in the whole table, at most; one more is refused.
   * @default {100000}
   */
  readonly maxLeases?: number;
}

/** Granted at once, queued, or refused with a reason (nothing changed). */
export type AcquireResult =
  | { readonly token: string }
  | { readonly queued: true }
  | { readonly refused: string };

/** A hold, as tests and logs see it. */
export interface HoldView<O> {
  readonly token: string;
  readonly count: number;
  /** The owner of a connection-bound hold; undefined for a lease. */
  readonly owner: O | undefined;
  /** When a lease ends; Infinity for a connection-bound hold. */
  readonly expiresAtMs: number;
}

/** A semaphore's state, for tests. */
export interface SemaphoreView<O> {
  readonly permits: number;
  readonly holds: readonly HoldView<O>[];
  readonly queue: readonly { owner: O; id: string; count: number }[];
}
