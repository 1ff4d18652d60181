import { COMMANDS, encodeMessage } from "../protocol/mod.ts";
import type { Link } from "./link.ts";
import { serverLogger } from "./_log.ts";

const log = serverLogger("limits");
const encoder = new TextEncoder();

/** The per-connection and per-server limits of emd, every one an option of `startServer`. */
export interface LimitOptions {
  /**
   * Open connections at most; one more gets an `e` line (`elimit,…`) and is closed.
   * @default {50000}
   */
  readonly maxConnections?: number;
  /**
   * Milliseconds a new connection has to complete its hello; a silent or slow peer is then closed.
   * @default {10000}
   */
  readonly helloTimeoutMs?: number;
  /**
   * Output bytes queued for one connection before it is cut off as too slow.
   * @default {1048576}
   */
  readonly maxQueuedBytes?: number;
  /**
   * Output bytes a receiver whose queue made no progress for a third of the stall verdict may
   * queue past `maxQueuedBytes` until emd judges whether it stopped reading, holding no sender
   * back meanwhile (see docs/PROTOCOL.md, "Slow receivers"). 0 (the default): it holds them back
   * until judged. Off by default: with receivers that share emd's CPU on a saturated machine,
   * letting the senders go starves readers into being judged stopped (docs/PERFORMANCE.md,
   * "Allowances while the verdict is out"). 33554432 (32 MiB) is Redis's pubsub hard limit.
   * @default {0}
   */
  readonly stallAllowanceBytes?: number;
  /**
   * All such receivers' allowances together at most: the memory this can cost the whole server
   * beyond `maxQueuedBytes` per connection. 0: no allowances.
   * @default {67108864}
   */
  readonly stallBudgetBytes?: number;
  /**
   * Messages (lines) per second one connection may send on average (a token bucket refilled at
   * this rate); over it the connection is closed. 0: no limit.
   * @default {1000000}
   */
  readonly maxMessagesPerSecond?: number;
  /**
   * Messages one connection may send at once above the average: the token bucket's size.
   * @default {50000000}
   */
  readonly messageBurst?: number;
  /**
   * Name or pattern subscriptions (`s`, protocol 1.2) one connection may hold; one more is
   * refused with the failure code `limit`.
   * @default {1000}
   */
  readonly maxSubscriptions?: number;
  /**
   * Agent calls (`c`, protocol 1.2) one connection may have waiting for their answer; one more is
   * answered at once with the failure code `limit`.
   * @default {1000}
   */
  readonly maxCallsInFlight?: number;
}

/** {@link LimitOptions} with every default filled in. */
export type ServerLimits = { readonly [K in keyof LimitOptions]-?: number };

/** The defaults of every limit (see docs/PROTOCOL.md, "Limits of emd"). */
export const DEFAULT_SERVER_LIMITS: ServerLimits = Object.freeze({
  maxConnections: 50_000,
  helloTimeoutMs: 10_000,
  maxQueuedBytes: 1024 * 1024,
  stallAllowanceBytes: 0,
  stallBudgetBytes: 64 * 1024 * 1024,
  maxMessagesPerSecond: 1_000_000,
  messageBurst: 50_000_000,
  maxSubscriptions: 1000,
  maxCallsInFlight: 1000,
});

/** Names of the limits, as written in log lines (`limit` property). */
export type LimitName = keyof ServerLimits;

const ZERO_ALLOWED: ReadonlySet<string> = new Set([
  "maxMessagesPerSecond",
  "stallAllowanceBytes",
  "stallBudgetBytes",
]);

/** Whether a limit may be 0 (meaning "none"); every other limit is at least 1. */
export function limitAllowsZero(name: keyof LimitOptions): boolean {
  return ZERO_ALLOWED.has(name);
}

/**
 * Fills in the defaults and checks every limit.
 * @throws {RangeError} for a limit that is not a positive integer (0 allowed only where it means "none")
 */
export function resolveLimits(options: LimitOptions): ServerLimits {
  const limits = { ...DEFAULT_SERVER_LIMITS };
  for (const name of Object.keys(limits) as LimitName[]) {
    const value = options[name] ?? limits[name];
    const least = limitAllowsZero(name) ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new RangeError(
        `Invalid ${name} "${value}": use an integer of at least ${least}`,
      );
    }
    limits[name] = value;
  }
  return Object.freeze(limits);
}

/**
 * Logs a limit hit that does not close the connection (e.g. a refused subscription): one warning
 * naming the peer, the limit and its value, as the message and as properties.
 */
export function logLimit(
  peer: string,
  limit: LimitName,
  value: number,
  what: string,
): void {
  log.warn("Refused {what} from {peer}: {limit} is {value}", {
    peer,
    limit,
    value,
    what,
  });
}

/**
 * Closes a connection for a limit: the peer is told why with `elimit,<text>` and closed once that
 * line is written. The close's one log line names the peer and carries `limit` and `value`.
 */
export function closeForLimit(
  connection: Link,
  limit: LimitName,
  value: number,
  text: string,
): void {
  const line = encodeMessage({
    letter: COMMANDS.ERROR,
    params: ["limit", text],
  });
  connection.closeAfterFlush(
    encoder.encode(line + "\n"),
    `${text} (${limit} ${value})`,
    { fault: true, properties: { limit, value } },
  );
}

/** Closes peers that do not complete their hello within `helloTimeoutMs`: one timer each. */
export class HelloDeadlines {
  #timeoutMs: number;
  #timers = new Map<Link, ReturnType<typeof setTimeout>>();

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Starts the clock for a new connection. */
  start(connection: Link): void {
    const ms = this.#timeoutMs;
    this.#timers.set(
      connection,
      setTimeout(() => {
        this.#timers.delete(connection);
        closeForLimit(connection, "helloTimeoutMs", ms, "No hello in time");
      }, ms),
    );
  }

  /** Stops the clock: the hello arrived, or the connection closed. */
  done(connection: Link): void {
    clearTimeout(this.#timers.get(connection));
    this.#timers.delete(connection);
  }
}

/** First and longest pause before accepting again after accept() failed. */
const ACCEPT_RETRY_FIRST_MS = 10, ACCEPT_RETRY_MAX_MS = 500;

/**
 * Paces the accept loop when accept() fails, e.g. with no file descriptors left (`ulimit -n` below
 * `maxConnections`): retrying at once would spin and write a log line per attempt. One log line
 * per episode, pauses doubling from 10 to 500 ms, and one line when accepting works again.
 */
export class AcceptBackoff {
  #failures = 0;

  /** Records a failed accept; resolves once it is time to try again. */
  async failed(error: Error): Promise<void> {
    if (this.#failures === 0) {
      log.error("Cannot accept: {error}; retrying quietly", {
        error: error.message,
      });
    }
    const ms = Math.min(
      ACCEPT_RETRY_MAX_MS,
      ACCEPT_RETRY_FIRST_MS * 2 ** Math.min(this.#failures, 16),
    );
    this.#failures++;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** Records an accepted connection; ends an episode of failures with one log line. */
  accepted(): void {
    if (this.#failures === 0) return;
    log.info("Accepting again after {failures} failed attempts", {
      failures: this.#failures,
    });
    this.#failures = 0;
  }
}

/**
 * A token bucket counting one connection's messages: it holds up to `burst` tokens, gains
 * `perSecond` a second, and each message takes one. Checked once per read, not per message.
 */
export class MessageRate {
  readonly perSecond: number;
  readonly burst: number;
  #tokens: number;
  #lastMs: number;

  constructor(perSecond: number, burst: number, nowMs: number) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.#tokens = burst;
    this.#lastMs = nowMs;
  }

  /**
   * Takes `count` tokens at time `nowMs`; false when the bucket went below empty. A clock that
   * steps back (wall-clock time, `Date.now()`) refills nothing and takes nothing.
   */
  spend(count: number, nowMs: number): boolean {
    const elapsed = nowMs > this.#lastMs ? nowMs - this.#lastMs : 0;
    const refill = elapsed * this.perSecond / 1000;
    this.#lastMs = nowMs;
    this.#tokens = Math.min(this.burst, this.#tokens + refill) - count;
    return this.#tokens >= 0;
  }
}
