import type { WaitOptions } from "./_deadline.ts";

/** Options of {@link SyncClient.waitAny}. */
export interface WaitAnyOptions {
  /** Aborting rejects the wait with `signal.reason`. */
  readonly signal?: AbortSignal;
  /**
   * Called once the server has confirmed that this client is subscribed (every later trigger of
   * the names reaches it), and in any case before the wait resolves with a name. Not called when
   * the wait times out or is aborted before the confirmation.
   */
  readonly onReady?: () => void;
}

/** Options of {@link SyncClient.lock} and {@link SyncClient.semaphore}. */
export interface LockOptions {
  /**
   * Give up waiting after this many milliseconds (rejects with `EmError` code "timeout"); a grant
   * the server made before it saw the withdrawal still wins. Negative or absent waits forever.
   * @default {-1}
   */
  readonly timeoutMs?: number;
  /** Aborting withdraws the request (and releases a grant that crossed it) and rejects. */
  readonly signal?: AbortSignal;
  /**
   * Make the hold a lease of this many milliseconds: it outlives the connection and ends when
   * released (by token, from any connection), or when the time passes without a renewal. Absent:
   * the hold is bound to the connection and ends at once when it closes.
   */
  readonly ttlMs?: number;
}

/** Options of {@link SyncClient.semaphore}. */
export interface SemaphoreOptions extends LockOptions {
  /**
   * Permits to take at once, 1 to `permits`.
   * @default {1}
   */
  readonly count?: number;
}

/** Options of {@link SyncClient.barrier}. */
export interface BarrierOptions {
  /**
   * Give up after this many milliseconds: the arrival is withdrawn and the call rejects with
   * `EmError` code "timeout" (unless the barrier opened first). Negative or absent waits forever.
   * @default {-1}
   */
  readonly timeoutMs?: number;
  /** Aborting withdraws the arrival and rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/** Options of a plain 1.1 trigger made by {@link SyncClient}: latch it. */
export interface TriggerOptions {
  /**
   * Latch the event: it wakes current waiters like a plain trigger and stays set, so every later
   * wait for it returns at once, until `reset(name)`.
   */
  readonly latch: boolean;
}

/** A held mutex or semaphore permit(s); `await using` releases it. */
export interface Hold extends AsyncDisposable {
  /** The mutex or semaphore. */
  readonly name: string;
  /** The semaphore's size: 1 for a mutex. */
  readonly permits: number;
  /** Permits this hold has. */
  readonly count: number;
  /** The hold's token; for a lease, what `releaseLease`/`renewLease` (and `emlock`) need. */
  readonly token: string;
  /** True for a lease (`ttlMs` given): it outlives the connection. */
  readonly lease: boolean;
  /** False once released (by `release()`, a condition wait that could not take it back, …). */
  readonly held: boolean;
  /**
   * Releases the hold; a second call does nothing.
   * @throws {EmError} code "refused" when the server no longer knows it (an expired lease), "closed"
   */
  release(): Promise<void>;
  /**
   * Makes a lease end `ttlMs` from now.
   * @throws {EmError} code "refused" for a hold that is not a lease, or an expired one
   */
  renew(ttlMs: number): Promise<void>;
}

/**
 * A condition variable on a mutex: `wait` releases the mutex, sleeps until notified, and takes the
 * mutex back before returning. Wake-ups may be spurious (as with POSIX): wait in a loop that checks
 * the predicate.
 */
export interface Condition {
  /** The condition's name. */
  readonly name: string;
  /**
   * Releases `hold`, waits for a notification, then takes the same mutex back into `hold`.
   * @returns true when notified, false when `timeoutMs` passed first (the mutex is held again
   * either way)
   * @throws {TypeError} when the client does not receive triggers or `hold` is not held
   */
  wait(hold: Hold, options?: WaitOptions): Promise<boolean>;
  /** Wakes at least one waiter (em wakes every current waiter: re-check the predicate). */
  notify(): Promise<void>;
  /** Wakes every current waiter. */
  notifyAll(): Promise<void>;
}

/**
 * The sync half of a client (protocol 1.2 with the sync capability; see docs/SYNC.md).
 *
 * @example A mutex held for a block, released on leaving it or when the process dies
 * ```ts ignore
 * await using client = await connect({ port: 4000 });
 * {
 *   await using hold = await client.lock("db/migrate", { timeoutMs: 30_000 });
 *   await migrate();
 * }
 * ```
 *
 * @example A latch: the late waiter still sees it
 * ```ts ignore
 * await ci.trigger("build_done", { latch: true });
 * console.log(await late.waitAny(["build_done", "build_failed"], 60_000)); // "build_done"
 * ```
 */
export interface SyncClient {
  /** True when the server offers sync (hello option `l`): latches, locks, barriers. */
  readonly syncAvailable: boolean;
  /**
   * Resets a latched event: later waits for it wait for a new trigger again.
   * @throws {EmError} code "protocol" when the server does not offer sync
   */
  reset(name: string): Promise<void>;
  /**
   * Waits for any of `names` (1.1 event names): resolves with the one that was triggered, or that
   * is latched on the server, or null once `timeoutMs` (negative: never) has passed and the server
   * has answered whether one is latched (so `0` polls: a latched or remembered name, else null). Like `wait`, it
   * takes remembered triggers and discards those it passes. Works against servers without sync too
   * (plain triggers only). Needs `receive: true`.
   * @throws {TypeError} when not receiving, for no names or a bad name
   * @throws {RangeError} when the names do not fit in one message
   * @throws {EmError} code "closed" when the connection ends first
   */
  waitAny(
    names: readonly string[],
    timeoutMs: number,
    options?: WaitAnyOptions,
  ): Promise<string | null>;
  /**
   * Takes the mutex `name` (a 1.2 name), waiting first come, first served.
   * @returns the hold: `await using hold = await client.lock("db")`
   * @throws {EmError} code "timeout" after `timeoutMs`, "refused" when `name` is a semaphore of
   * another size, "protocol" when the server does not offer sync
   */
  lock(name: string, options?: LockOptions): Promise<Hold>;
  /**
   * Takes `count` (default 1) permits of the counting semaphore `name` of `permits` permits.
   * @throws {EmError} code "timeout" after `timeoutMs`, "refused" when others use another size
   */
  semaphore(
    name: string,
    permits: number,
    options?: SemaphoreOptions,
  ): Promise<Hold>;
  /**
   * Releases a lease by its token, from any connection.
   * @throws {EmError} code "refused" when `token` is not a lease of `name` (nothing changes)
   */
  releaseLease(name: string, token: string): Promise<void>;
  /**
   * Makes a lease end `ttlMs` from now, from any connection.
   * @throws {EmError} code "refused" when `token` is not a lease of `name`
   */
  renewLease(name: string, token: string, ttlMs: number): Promise<void>;
  /**
   * Arrives at the barrier `name` and resolves once `parties` have arrived.
   * @throws {EmError} code "timeout" (the arrival is withdrawn), "refused" when the others wait
   * for another number of parties
   */
  barrier(
    name: string,
    parties: number,
    options?: BarrierOptions,
  ): Promise<void>;
  /**
   * A condition variable named `name` (a 1.1 event name; it uses the event `em_cond_<name>`).
   * @throws {TypeError} for a bad name
   */
  condition(name: string): Condition;
}
