import { EmError } from "./em_error.ts";
import { findOption, type Message } from "./message.ts";
import { MAX_LINE_BYTES, MAX_PARAM_CHARS } from "./limits.ts";

/** Wire letters of the 1.2 agent and data-event messages (lower case: a 1.1 peer may ignore them). */
export const DATA_COMMANDS = Object.freeze({
  /** Client → server: `c<id>,<api/verb>[,<json>]`, call an agent's verb. */
  CALL: "c",
  /** Server → client: `r<id>[,<json>]`, the request `id` succeeded. */
  REPLY: "r",
  /** Server → client: `x<id>,<code>,<message>`, the request `id` failed. */
  FAIL: "x",
  /** Client → server: `s<id>,<name or pattern>`, receive matching data events. */
  SUBSCRIBE: "s",
  /** Client → server: `u<id>,<name or pattern>`, stop receiving them. */
  UNSUBSCRIBE: "u",
  /** Client → server: `t<id>,<name>[,<json>]`, trigger with data; replied `r<id>,<receivers>`. */
  TRIGGER: "t",
  /** Server → client: `d<name>[,<json>]`, a data event. */
  DATA: "d",
});

/** Hello option `m<bytes>`: the largest message its sender accepts (1.2). */
export const MAX_MESSAGE_OPTION = "m";

/** Largest message 1.2 peers agree on unless configured: a 64 KiB JSON fits even fully escaped. */
export const DEFAULT_MAX_MESSAGE_BYTES = 512 * 1024;

/** Wire failure codes em itself uses in `x` replies; agents may use their own. */
export const FAILURES = Object.freeze({
  /** No agent has that API, or the agent has no such verb. */
  UNKNOWN_VERB: "unknown-verb",
  /** The message was malformed: bad name, bad id, invalid JSON. */
  BAD_REQUEST: "bad-request",
  /** The verb threw; the message is the error's. */
  FAILED: "failed",
  /** The connection cannot receive events (not 1.2, or not receiving). */
  CANNOT_RECEIVE: "cannot-receive",
  /** A server limit refused the request (e.g. too many subscriptions on one connection). */
  LIMIT: "limit",
});

const ID = /^[A-Za-z0-9_-]{1,32}$/;
const PATTERN = /^[A-Za-z0-9_*][A-Za-z0-9_./*-]*$/;

/** True for a request id: 1 to 32 characters of `[A-Za-z0-9_-]`. */
export function isValidRequestId(id: string): boolean {
  return ID.test(id);
}

/**
 * True for a subscription pattern: an extended name in which `*` stands for any run of characters
 * other than `/` (`speed/*`, `*-1Hz`) and `**` for any run of characters, `/` included (`**`
 * matches every name, `speed/**` every name under `speed/`). A plain extended name is a pattern
 * matching only itself.
 */
export function isValidPattern(pattern: string): boolean {
  return pattern.length <= MAX_PARAM_CHARS && PATTERN.test(pattern);
}

/**
 * Compiles a pattern into a matcher.
 * @throws {TypeError} for an invalid pattern
 */
export function compilePattern(pattern: string): (name: string) => boolean {
  if (!isValidPattern(pattern)) {
    throw new TypeError(
      `Invalid pattern "${pattern}": use 1 to ${MAX_PARAM_CHARS} characters of [A-Za-z0-9_./*-]`,
    );
  }
  if (!pattern.includes("*")) return (name) => name === pattern;
  if (/^\*\*+$/.test(pattern)) return () => true; // watch everything: no expression to run
  const source = pattern.replace(/[.]/g, "\\.")
    .replace(/\*\*+|\*/g, (stars) => stars === "*" ? "[^/]*" : ".*");
  const regexp = new RegExp(`^${source}$`);
  return (name) => regexp.test(name);
}

/** The `m` option of a hello, if it carries a valid one. */
export function maxMessageOf(hello: Message): number | undefined {
  const text = findOption(hello, MAX_MESSAGE_OPTION)?.params[0];
  if (text === undefined || !/^[0-9]{4,10}$/.test(text)) return undefined;
  return Number(text);
}

/**
 * The message limit two peers agree on: the smaller of both announcements; a peer that announced
 * none (every 1.1 peer) keeps the 1.1 limit.
 */
export function agreedMaxMessage(
  ours: number,
  theirs: number | undefined,
): number {
  if (theirs === undefined) return MAX_LINE_BYTES;
  return Math.max(MAX_LINE_BYTES, Math.min(ours, theirs));
}

/** A JSON value as data events and calls carry it. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/**
 * Reads the JSON text of a parameter.
 * @returns the value, or a fault text for invalid JSON
 */
export function parseJsonParam(
  text: string | undefined,
): { value: JsonValue | undefined } | { fault: string } {
  if (text === undefined) return { value: undefined };
  try {
    return { value: JSON.parse(text) as JsonValue };
  } catch (error) {
    return { fault: `invalid JSON: ${(error as Error).message}` };
  }
}

/**
 * Turns a value into the JSON text of a parameter.
 * @throws {TypeError} when the value cannot be written as JSON (a function, a cycle, a bigint)
 */
export function jsonParam(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(
      `Cannot send data as JSON: ${(error as Error).message}`,
    );
  }
  if (text === undefined) {
    throw new TypeError(`Cannot send data as JSON: ${typeof value}`);
  }
  return text;
}

/** A verb call that failed (an `x` reply): code "failed", with the wire failure code. */
export class CallError extends EmError {
  /** The failure code of the reply: "unknown-verb", "bad-request", "failed", … or an agent's own. */
  readonly failure: string;
  /**
   * Makes the error an `x` reply stands for.
   * @param failure the failure code
   * @param message what failed
   */
  constructor(failure: string, message: string) {
    super("failed", message);
    this.name = "CallError";
    this.failure = failure;
  }
}
