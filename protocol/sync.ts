import { isValidRequestId } from "./data.ts";
import { encodeParam } from "./escape.ts";
import { findOption, type Message } from "./message.ts";
import { isValidExtendedName, isValidName } from "./names.ts";

/** Wire letters of the 1.2 sync messages (lower case: a 1.1 peer may ignore them). */
export const SYNC_COMMANDS = Object.freeze({
  /** Client → server: `l<id>,<name>`, trigger `name` and latch it; answered `o<id>`. */
  LATCH: "l",
  /** Client → server: `z<id>,<name>`, clear the latch of `name`; answered `o<id>`. */
  RESET: "z",
  /** Client → server: `w<id>,<name>[,<name>…]`, about to wait: answered `y<id>,<name>` or `o<id>`. */
  WAIT: "w",
  /** Server → client: `y<id>,<name>`, that name of the wait is latched. */
  LATCHED: "y",
  /** Client → server: `k<id>,<name>,<permits>,<count>[,<ttlMs>]`, acquire; answered `g`. */
  ACQUIRE: "k",
  /** Server → client: `g<id>,<token>`, the acquire `id` is granted. */
  GRANT: "g",
  /** Client → server: `v<id>,<name>,<token>`, release a hold; answered `o<id>`. */
  RELEASE: "v",
  /** Client → server: `m<id>,<name>,<token>,<ttlMs>`, renew a lease; answered `o<id>`. */
  RENEW: "m",
  /** Client → server: `b<id>,<name>,<parties>`, arrive at a barrier; answered `o<id>` at release. */
  BARRIER: "b",
  /** Both ways: `q<id>`, withdraw the pending acquire or arrival `id`; the server echoes it. */
  WITHDRAW: "q",
  /** Server → client: `o<id>`, request `id` done. */
  OK: "o",
});

/** Hello option `l<version>` by which a server announces the sync capability (version 1). */
export const SYNC_HELLO_OPTION = "l";

/** The sync version em speaks, as announced in the hello option. */
export const SYNC_VERSION = "1";

/** Largest number of permits of a semaphore and of parties of a barrier. */
export const MAX_SYNC_COUNT = 1_000_000;

/** Longest lease in milliseconds (2^31 - 1, about 24.8 days). */
export const MAX_TTL_MS = 2_147_483_647;

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
const COUNT = /^[1-9][0-9]{0,9}$/;

/** True for a lease token: 1 to 64 characters of `[A-Za-z0-9_-]`. */
export function isValidToken(token: string): boolean {
  return TOKEN.test(token);
}

/** A sync request as a client sends it. */
export type SyncRequest =
  | { readonly kind: "latch"; readonly id: string; readonly name: string }
  | { readonly kind: "reset"; readonly id: string; readonly name: string }
  | {
    readonly kind: "wait";
    readonly id: string;
    readonly names: readonly string[];
  }
  | {
    readonly kind: "acquire";
    readonly id: string;
    readonly name: string;
    readonly permits: number;
    readonly count: number;
    readonly ttlMs?: number;
  }
  | {
    readonly kind: "release";
    readonly id: string;
    readonly name: string;
    readonly token: string;
  }
  | {
    readonly kind: "renew";
    readonly id: string;
    readonly name: string;
    readonly token: string;
    readonly ttlMs: number;
  }
  | {
    readonly kind: "barrier";
    readonly id: string;
    readonly name: string;
    readonly parties: number;
  }
  | { readonly kind: "withdraw"; readonly id: string };

/** A sync answer as the server sends it. */
export type SyncReply =
  | { readonly kind: "ok"; readonly id: string }
  | { readonly kind: "latched"; readonly id: string; readonly name: string }
  | { readonly kind: "granted"; readonly id: string; readonly token: string }
  | { readonly kind: "withdrawn"; readonly id: string }
  | {
    readonly kind: "error";
    readonly id: string;
    readonly code: string;
    readonly text: string;
  };

/** Why a sync request is malformed; `id` is set when there is a request to answer. */
export interface SyncFault {
  /** The request id, when it was valid: the server answers `e<code>,<text>,<id>`. */
  readonly id?: string;
  /** What is wrong, for the answer and the log. */
  readonly fault: string;
}

const KINDS: Readonly<Record<string, SyncRequest["kind"]>> = {
  [SYNC_COMMANDS.LATCH]: "latch",
  [SYNC_COMMANDS.RESET]: "reset",
  [SYNC_COMMANDS.WAIT]: "wait",
  [SYNC_COMMANDS.ACQUIRE]: "acquire",
  [SYNC_COMMANDS.RELEASE]: "release",
  [SYNC_COMMANDS.RENEW]: "renew",
  [SYNC_COMMANDS.BARRIER]: "barrier",
  [SYNC_COMMANDS.WITHDRAW]: "withdraw",
};

/** The letter of each request kind. */
const LETTERS = Object.fromEntries(
  Object.entries(KINDS).map(([letter, kind]) => [kind, letter]),
) as Readonly<Record<SyncRequest["kind"], string>>;

/** True when `letter` is a client → server sync command. */
export function isSyncRequestLetter(letter: string): boolean {
  return letter in KINDS;
}

/**
 * Reads a sync request (`l z w k v m b q`).
 * @returns the request, or a fault (with the id when it was valid)
 */
export function parseSyncRequest(message: Message): SyncRequest | SyncFault {
  const { letter, params } = message.command;
  const kind = KINDS[letter];
  if (kind === undefined) return { fault: `not a sync request "${letter}"` };
  const [id = "", ...rest] = params;
  if (!isValidRequestId(id)) return { fault: `bad request id "${id}"` };
  const parsed = PARSERS[kind](id, rest);
  return typeof parsed === "string" ? { id, fault: parsed } : parsed;
}

type Parser = (id: string, p: readonly string[]) => SyncRequest | string;

const PARSERS: Readonly<Record<SyncRequest["kind"], Parser>> = {
  latch: (id, p) =>
    arity(p, 1, 1) ?? eventName(p[0]) ?? latchLike("latch", id, p),
  reset: (id, p) =>
    arity(p, 1, 1) ?? eventName(p[0]) ?? latchLike("reset", id, p),
  wait: (id, p) =>
    arity(p, 1, Infinity) ?? p.map(eventName).find((f) => f !== undefined) ??
      { kind: "wait", id, names: p },
  acquire: (id, [name = "", permits = "", count = "", ttl, ...more]) => {
    const fault = more.length > 0 ? "too many parameters" : syncName(name) ??
      number("permits", permits, MAX_SYNC_COUNT) ??
      number("count", count, Number(permits));
    if (fault !== undefined) return fault;
    if (ttl === undefined) {
      return { kind: "acquire", id, name, permits: +permits, count: +count };
    }
    return number("ttl", ttl, MAX_TTL_MS) ??
      {
        kind: "acquire",
        id,
        name,
        permits: +permits,
        count: +count,
        ttlMs: +ttl,
      };
  },
  release: (id, p) =>
    arity(p, 2, 2) ?? syncName(p[0]!) ?? token(p[1]!) ??
      { kind: "release", id, name: p[0]!, token: p[1]! },
  renew: (id, p) =>
    arity(p, 3, 3) ?? syncName(p[0]!) ?? token(p[1]!) ??
      number("ttl", p[2]!, MAX_TTL_MS) ??
      { kind: "renew", id, name: p[0]!, token: p[1]!, ttlMs: +p[2]! },
  barrier: (id, p) =>
    arity(p, 2, 2) ?? syncName(p[0]!) ??
      number("parties", p[1]!, MAX_SYNC_COUNT) ??
      { kind: "barrier", id, name: p[0]!, parties: +p[1]! },
  withdraw: (id, p) => arity(p, 0, 0) ?? { kind: "withdraw", id },
};

function latchLike(
  kind: "latch" | "reset",
  id: string,
  p: readonly string[],
): SyncRequest {
  return { kind, id, name: p[0]! };
}

function arity(
  p: readonly string[],
  min: number,
  max: number,
): string | undefined {
  if (p.length < min) return "missing parameters";
  if (p.length > max) return "too many parameters";
  return undefined;
}

function eventName(name: string | undefined): string | undefined {
  return isValidName(name ?? "") ? undefined : `bad event name "${name}"`;
}

function syncName(name: string): string | undefined {
  return isValidExtendedName(name) ? undefined : `bad name "${name}"`;
}

function token(text: string): string | undefined {
  return isValidToken(text) ? undefined : `bad token "${text}"`;
}

function number(what: string, text: string, max: number): string | undefined {
  if (!COUNT.test(text) || Number(text) > max) {
    return `bad ${what} "${text}": expected 1 to ${max}`;
  }
  return undefined;
}

/** Encodes a sync request as one line without its line end (names are never escaped). */
export function encodeSyncRequest(r: SyncRequest): string {
  const head = `${LETTERS[r.kind]}${r.id}`; // one template per kind: no array, no join
  switch (r.kind) {
    case "latch":
    case "reset":
      return `${head},${r.name}`;
    case "wait":
      return `${head},${r.names.join(",")}`;
    case "acquire":
      return r.ttlMs === undefined
        ? `${head},${r.name},${r.permits},${r.count}`
        : `${head},${r.name},${r.permits},${r.count},${r.ttlMs}`;
    case "release":
      return `${head},${r.name},${r.token}`;
    case "renew":
      return `${head},${r.name},${r.token},${r.ttlMs}`;
    case "barrier":
      return `${head},${r.name},${r.parties}`;
    case "withdraw":
      return head;
  }
}

/**
 * Reads a sync answer from the server: `o`, `y`, `g`, `q`, or an `e` that names a request.
 * @returns the answer, or undefined when the message is none of them (or malformed)
 */
export function parseSyncReply(message: Message): SyncReply | undefined {
  const { letter, params } = message.command;
  const [id = "", first] = params;
  if (letter === "e") {
    const requestId = params[2] ?? "";
    if (params.length !== 3 || !isValidRequestId(requestId)) return undefined;
    return { kind: "error", id: requestId, code: params[0]!, text: first! };
  }
  if (!isValidRequestId(id)) return undefined;
  if (letter === SYNC_COMMANDS.OK && params.length === 1) {
    return { kind: "ok", id };
  }
  if (letter === SYNC_COMMANDS.WITHDRAW && params.length === 1) {
    return { kind: "withdrawn", id };
  }
  if (letter === SYNC_COMMANDS.LATCHED && params.length === 2) {
    return isValidName(first!)
      ? { kind: "latched", id, name: first! }
      : undefined;
  }
  if (letter === SYNC_COMMANDS.GRANT && params.length === 2) {
    return isValidToken(first!)
      ? { kind: "granted", id, token: first! }
      : undefined;
  }
  return undefined;
}

/**
 * Encodes a sync answer as one line without its line end; an error's text is escaped.
 */
export function encodeSyncReply(reply: SyncReply): string {
  switch (reply.kind) {
    case "ok":
      return `${SYNC_COMMANDS.OK}${reply.id}`;
    case "withdrawn":
      return `${SYNC_COMMANDS.WITHDRAW}${reply.id}`;
    case "latched":
      return `${SYNC_COMMANDS.LATCHED}${reply.id},${reply.name}`;
    case "granted":
      return `${SYNC_COMMANDS.GRANT}${reply.id},${reply.token}`;
    case "error":
      return `e${encodeParam(reply.code)},${
        encodeParam(reply.text)
      },${reply.id}`;
  }
}

/** The sync version a server's hello announces, if any. */
export function syncVersionOf(hello: Message): string | undefined {
  return findOption(hello, SYNC_HELLO_OPTION)?.params[0];
}
