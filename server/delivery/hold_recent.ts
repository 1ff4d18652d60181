/**
 * What a hold record remembers of its recent changes, so that a change written twice is answered
 * the way its first write was. A node whose key's home did not answer within the forward timeout
 * writes the change itself (server/delivery/hold_writer.ts), but the home may have written it
 * already and died before answering, or answered late. A release or an arrival that completed a
 * round leaves no trace in the record, so without this the second write could not tell a retry
 * from a new request (docs/CLUSTER.md, "A change can be written twice").
 */

/** One change a record remembers: its key and until when. */
export interface Recent {
  /** A digest of a release ({@link releaseKey}), or the waiter id of an arrival of a completed round. */
  readonly k: string;
  /** Forgotten from this time on (ms since the epoch, the writing node's clock). */
  readonly x: number;
}

/**
 * How long a change is remembered: well past the 2 s a node waits for the key's home before it
 * writes a change itself, and the 10 s one change of a key may take on that node before the next.
 */
export const RECENT_MS = 30_000;

/** How many changes a record remembers at most (besides those of one completed round). */
export const RECENT_MAX = 64;

/** The remembered changes of `recent` still in their window at `nowMs`. */
export function fresh(
  recent: readonly Recent[] | undefined,
  nowMs: number,
): readonly Recent[] {
  return recent?.filter((r) => r.x > nowMs) ?? [];
}

/** True when `recent` remembers `k` at `nowMs`. */
export function recalls(
  recent: readonly Recent[] | undefined,
  k: string,
  nowMs: number,
): boolean {
  return recent?.some((r) => r.k === k && r.x > nowMs) ?? false;
}

/** True when something of `recent` is past its window: the key's home prunes it. */
export function hasStale(
  recent: readonly Recent[] | undefined,
  nowMs: number,
): boolean {
  return recent?.some((r) => r.x <= nowMs) ?? false;
}

/**
 * `recent` with the changes `keys` added for {@link RECENT_MS}: the newest {@link RECENT_MAX}
 * (or all of `keys`, when they are more: one completed round is never cut).
 */
export function remember(
  recent: readonly Recent[] | undefined,
  keys: readonly string[],
  nowMs: number,
): readonly Recent[] {
  const all = [
    ...fresh(recent, nowMs),
    ...keys.map((k) => ({ k, x: nowMs + RECENT_MS })),
  ];
  return all.slice(-Math.max(RECENT_MAX, keys.length));
}

/**
 * What a record remembers of a release: a digest of its token and the releasing connection, so a
 * release of the same token by another connection is not taken for a retry (53 bits; a collision
 * can only make a release of a hold that is already gone answer ok, never free anything).
 */
export function releaseKey(
  token: string,
  by: { readonly n: string; readonly o: number },
): string {
  return digest(`${token}\n${by.n}\n${by.o}`);
}

/** cyrb53: a 53-bit string hash, in base 36; not for security. */
function digest(text: string): string {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^
    Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^
    Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}
