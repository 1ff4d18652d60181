/**
 * The records of cluster-wide locks, semaphores, leases and barriers as they are stored in the
 * holds bucket (docs/CLUSTER.md), and every change to them as a pure function: record in, record
 * out. server/delivery/nats_holds.ts writes the result with compare-and-set on the key's revision,
 * so a change computed from a stale record is refused by the store and computed again.
 */
import {
  fresh,
  hasStale,
  recalls,
  type Recent,
  releaseKey,
  remember,
} from "./hold_recent.ts";

/** Who holds or waits: a node incarnation (`<node id>/<instance>`) and a connection number on it. */
export interface Holder {
  /** The node incarnation that answers for the connection. */
  readonly n: string;
  /** The connection's number on that node. */
  readonly o: number;
}

/** A granted hold: `c` permits; a lease has `e` (ends at, ms since the epoch) and no connection. */
export interface HoldEntry {
  /** The token the client got. */
  readonly t: string;
  /** Permits held. */
  readonly c: number;
  /** The node that granted it (for a bound hold, the node of its connection). */
  readonly n: string;
  /** The connection of a bound hold; absent for a lease. */
  readonly o?: number;
  /** A lease's end; absent for a bound hold. */
  readonly e?: number;
  /** The waiter this hold was granted to after waiting, so its node can answer it. */
  readonly w?: string;
}

/** A waiting acquire, in arrival order (the order of the compare-and-set that queued it). */
export interface WaitEntry extends Holder {
  /** Cluster-unique waiter id. */
  readonly w: string;
  /** Permits wanted. */
  readonly c: number;
  /** The lease's time to live once granted; absent for a bound hold. */
  readonly l?: number;
}

/**
 * A mutex or semaphore: its size, its holds, its queue, and the releases it remembers (written for
 * another node, which may write them again). Idle (no holds, nobody queued), it is stored only
 * while it remembers something, and any size may be asked of it.
 */
export interface SemaphoreRecord {
  readonly p: number;
  readonly h: readonly HoldEntry[];
  readonly q: readonly WaitEntry[];
  readonly d?: readonly Recent[];
}

/** One party waiting at a barrier. */
export interface Arrival extends Holder {
  /** Cluster-unique waiter id. */
  readonly w: string;
}

/**
 * A barrier's round in progress: `p` parties, those that arrived; and the arrivals of rounds
 * completed lately. With no arrival it is stored only while it remembers something, and the next
 * round may be for any number of parties.
 */
export interface BarrierRecord {
  readonly p: number;
  readonly a: readonly Arrival[];
  readonly d?: readonly Recent[];
}

/** A change: the new record (undefined: delete the key), or why it is refused (nothing changed). */
export type Change<R> =
  | { readonly record: R | undefined; readonly refused?: undefined }
  | { readonly refused: string };

/** An acquire as the records see it. */
export interface AcquireWish {
  readonly name: string;
  readonly permits: number;
  readonly count: number;
  readonly ttlMs?: number;
}

/**
 * Grants at once when nobody waits and the permits are free, else queues `waiter`. The same acquire
 * applied again (same waiter and token: a retry whose first answer was lost) changes nothing.
 */
export function acquireIn(
  record: SemaphoreRecord | undefined,
  wish: AcquireWish,
  waiter: Arrival,
  token: string,
  nowMs: number,
): Change<SemaphoreRecord> & { granted?: boolean } {
  const current = record === undefined || idle(record)
    ? { ...record, p: wish.permits, h: [], q: [] }
    : record;
  if (current.p !== wish.permits) {
    return {
      refused:
        `Semaphore "${wish.name}" has ${current.p} permits, not ${wish.permits}`,
    };
  }
  const again = retried(current, waiter.w, token);
  if (again !== undefined) return { record: current, granted: again };
  if (current.q.length === 0 && used(current) + wish.count <= current.p) {
    const hold = holdOf(token, wish.count, waiter, wish.ttlMs, nowMs);
    return { record: { ...current, h: [...current.h, hold] }, granted: true };
  }
  const entry: WaitEntry = {
    w: waiter.w,
    n: waiter.n,
    o: waiter.o,
    c: wish.count,
    ...(wish.ttlMs === undefined ? {} : { l: wish.ttlMs }),
  };
  return { record: { ...current, q: [...current.q, entry] }, granted: false };
}

/**
 * An acquire applied a second time (its first write's answer was lost, see HoldWriter.run): true
 * when it was granted at once, false when it queued (and may have been served since), undefined
 * when the record knows nothing of it.
 */
function retried(
  record: SemaphoreRecord,
  w: string,
  token: string,
): boolean | undefined {
  if (record.h.some((h) => h.t === token)) return true;
  if (record.h.some((h) => h.w === w) || record.q.some((q) => q.w === w)) {
    return false;
  }
  return undefined;
}

/** How a release is applied. */
export interface ReleaseOptions {
  /** The time of the write (ms since the epoch). */
  readonly nowMs: number;
  /**
   * Remember the release: it was sent by another node, which writes it again when this write's
   * answer is lost.
   * @default {false}
   */
  readonly remember?: boolean;
  /**
   * The asking node writes it itself, its key's home did not answer: the home may have written
   * it, so a remembered release is answered ok.
   * @default {false}
   */
  readonly retried?: boolean;
}

/**
 * Releases the hold `token`: a lease from anyone, a bound hold only from its own connection. A
 * retried release the record remembers (the same token from the same connection, written by its
 * key's home already) changes nothing and is answered ok again, as its first write was.
 */
export function releaseIn(
  record: SemaphoreRecord | undefined,
  release: {
    readonly name: string;
    readonly token: string;
    readonly by: Holder;
  },
  options: ReleaseOptions,
): Change<SemaphoreRecord> {
  const { name, token, by } = release;
  const hold = record?.h.find((h) => h.t === token);
  const k = releaseKey(token, by);
  if (
    options.retried && record !== undefined && hold === undefined &&
    recalls(record.d, k, options.nowMs)
  ) {
    return { record };
  }
  if (
    record === undefined || hold === undefined ||
    (hold.o !== undefined && (hold.o !== by.o || hold.n !== by.n))
  ) {
    return {
      refused:
        `Cannot release "${name}": "${token}" is neither a hold of this connection nor a lease`,
    };
  }
  const h = record.h.filter((entry) => entry !== hold);
  const d = options.remember
    ? remember(record.d, [k], options.nowMs)
    : record.d;
  return { record: tidy(withRecent({ ...record, h }, d ?? [])) };
}

/** Makes the lease `token` end `ttlMs` from `nowMs`. */
export function renewIn(
  record: SemaphoreRecord | undefined,
  name: string,
  token: string,
  ttlMs: number,
  nowMs: number,
): Change<SemaphoreRecord> {
  const hold = record?.h.find((h) => h.t === token);
  if (record === undefined || hold === undefined) {
    return {
      refused: `Cannot renew "${name}": "${token}" is not a lease of it`,
    };
  }
  if (hold.e === undefined) {
    return {
      refused:
        `Cannot renew "${name}": "${token}" is bound to its connection, not a lease`,
    };
  }
  const renewed = { ...hold, e: nowMs + ttlMs };
  return {
    record: { ...record, h: record.h.map((h) => h === hold ? renewed : h) },
  };
}

/** Removes the waiter `w` from the queue (it withdrew). */
export function withdrawIn(
  record: SemaphoreRecord | undefined,
  w: string,
): Change<SemaphoreRecord> {
  if (record === undefined) return { record };
  return { record: tidy({ ...record, q: record.q.filter((q) => q.w !== w) }) };
}

/**
 * Removes the bound holds and waiters of `gone` (one connection, or with `o` undefined every
 * connection of a node incarnation) and expired leases. Leases of a gone node stay: they belong to
 * no connection.
 */
export function dropIn(
  record: SemaphoreRecord | undefined,
  gone: (entry: { n: string; o?: number }) => boolean,
  nowMs: number,
): { readonly record: SemaphoreRecord | undefined } {
  if (record === undefined) return { record };
  return {
    record: tidy(withRecent({
      ...record,
      h: record.h.filter((h) => h.e === undefined ? !gone(h) : h.e > nowMs),
      q: record.q.filter((q) => !gone(q)),
    }, fresh(record.d, nowMs))),
  };
}

/**
 * Grants waiters from the head of the queue while their permits are free (strict order: a large
 * head blocks smaller ones behind it, as on one server). `newToken` makes each grant's token.
 */
export function serveIn(
  record: SemaphoreRecord | undefined,
  newToken: (waiter: WaitEntry) => string,
  nowMs: number,
): SemaphoreRecord | undefined {
  if (record === undefined) return undefined;
  let free = record.p - used(record);
  let served = 0;
  const granted: HoldEntry[] = [];
  for (const head of record.q) {
    if (head.c > free) break;
    free -= head.c;
    served++;
    granted.push({
      ...holdOf(newToken(head), head.c, head, head.l, nowMs),
      w: head.w,
    });
  }
  if (served === 0) return record;
  return { ...record, h: [...record.h, ...granted], q: record.q.slice(served) };
}

/**
 * True when a record needs serving or pruning: a free head of the queue, an expired lease, or a
 * change remembered past its window.
 */
export function needsWork(record: SemaphoreRecord, nowMs: number): boolean {
  const head = record.q[0];
  return (head !== undefined && head.c <= record.p - used(record)) ||
    record.h.some((h) => h.e !== undefined && h.e <= nowMs) ||
    hasStale(record.d, nowMs);
}

/** A barrier arrival as the records see it. */
export interface ArrivalWish {
  readonly name: string;
  readonly parties: number;
  readonly arrival: Arrival;
}

/**
 * Adds an arrival; the last one of `parties` ends the round: its arrivals are remembered and the
 * next round starts empty. An arrival already waiting, or remembered from a completed round (a
 * retry whose first answer was lost), changes nothing; the latter is answered as complete.
 */
export function arriveIn(
  record: BarrierRecord | undefined,
  { name, parties, arrival }: ArrivalWish,
  nowMs: number,
): Change<BarrierRecord> & { complete?: readonly Arrival[] } {
  if (recalls(record?.d, arrival.w, nowMs)) {
    return { record, complete: [arrival] }; // the round it completed
  }
  const current = record === undefined || record.a.length === 0
    ? { ...record, p: parties, a: [] }
    : record;
  if (current.p !== parties) {
    return {
      refused: `Barrier "${name}" is for ${current.p} parties, not ${parties}`,
    };
  }
  if (current.a.some((a) => a.w === arrival.w)) return { record: current }; // applied twice
  const a = [...current.a, arrival];
  if (a.length < parties) return { record: { ...current, a } };
  const d = remember(current.d, a.map((done) => done.w), nowMs);
  return { record: { p: parties, a: [], d }, complete: a };
}

/**
 * Removes the arrivals that `gone` matches (withdrawn, disconnected, node dead) and what the
 * record remembers past its window.
 */
export function leaveIn(
  record: BarrierRecord | undefined,
  gone: (arrival: Arrival) => boolean,
  nowMs: number,
): { readonly record: BarrierRecord | undefined } {
  if (record === undefined) return { record };
  const a = record.a.filter((arrival) => !gone(arrival));
  const kept = withRecent({ ...record, a }, fresh(record.d, nowMs));
  return { record: a.length === 0 && kept.d === undefined ? undefined : kept };
}

/** True when the barrier's record needs pruning: a change remembered past its window. */
export function barrierNeedsWork(
  record: BarrierRecord,
  nowMs: number,
): boolean {
  return hasStale(record.d, nowMs);
}

function used(record: SemaphoreRecord): number {
  let sum = 0;
  for (const hold of record.h) sum += hold.c;
  return sum;
}

function holdOf(
  token: string,
  count: number,
  holder: Holder,
  ttlMs: number | undefined,
  nowMs: number,
): HoldEntry {
  return ttlMs === undefined
    ? { t: token, c: count, n: holder.n, o: holder.o }
    : { t: token, c: count, n: holder.n, e: nowMs + ttlMs };
}

/** An idle record that remembers nothing is deleted, not stored. */
function tidy(record: SemaphoreRecord): SemaphoreRecord | undefined {
  return idle(record) && record.d === undefined ? undefined : record;
}

/** Nobody holds or waits. */
export function idle(record: SemaphoreRecord): boolean {
  return record.h.length === 0 && record.q.length === 0;
}

/** `record` remembering `d`: without the field when `d` is empty. */
function withRecent<R extends { readonly d?: readonly Recent[] }>(
  record: R,
  d: readonly Recent[],
): R {
  const { d: _, ...rest } = record;
  return (d.length === 0 ? rest : { ...rest, d }) as R;
}
