// The semaphore table's own records (semaphores.ts): semaphores, holds, waiters, owners' counts.
import type { LeaseRecord } from "./store.ts";
import type { AcquireRequest, HoldView } from "./semaphore_table_options.ts";

export interface Hold<O> extends HoldView<O> {
  expiresAtMs: number;
  cancelExpiry: () => void;
}

/** What one owner waits for and holds bound to it: a count per semaphore, and their sum. */
export interface OwnerRefs<O> {
  total: number;
  readonly sems: Map<Semaphore<O>, number>;
}

/** A hold without an expiry to cancel (bound to its owner). */
export const NO_EXPIRY = (): void => {};

export interface Waiter<O> {
  readonly owner: O;
  readonly request: AcquireRequest;
}

export interface Semaphore<O> {
  name: string; // a spare semaphore is reused under another name
  permits: number;
  used: number;
  readonly holds: Map<string, Hold<O>>;
  queue: Waiter<O>[];
}

/** The store's record of a lease of `sem`. */
export function record<O>(
  sem: Semaphore<O>,
  token: string,
  count: number,
  expiresAtMs: number,
): LeaseRecord {
  return { name: sem.name, token, permits: sem.permits, count, expiresAtMs };
}
