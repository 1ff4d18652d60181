/**
 * The changes nodes ask of hold records (server/delivery/hold_records.ts) as they travel to the
 * node that writes the key, what each did, and one write's worth of change to a stored record.
 */
import {
  acquireIn,
  type AcquireWish,
  type Arrival,
  arriveIn,
  type BarrierRecord,
  type Change,
  dropIn,
  type Holder,
  leaveIn,
  releaseIn,
  renewIn,
  type SemaphoreRecord,
  serveIn,
  type WaitEntry,
  withdrawIn,
} from "./hold_records.ts";
import { recalls } from "./hold_recent.ts";

/** A change a node asks of a record, as it travels to the node that writes the key. */
export type HoldOp =
  | {
    readonly op: "acquire";
    readonly wish: AcquireWish;
    readonly who: Arrival;
    readonly token: string;
  }
  | {
    readonly op: "release";
    readonly name: string;
    readonly token: string;
    readonly by: Holder;
  }
  | {
    readonly op: "renew";
    readonly name: string;
    readonly token: string;
    readonly ttlMs: number;
  }
  | { readonly op: "withdraw"; readonly w: string }
  | {
    readonly op: "arrive";
    readonly name: string;
    readonly parties: number;
    readonly arrival: Arrival;
  }
  | { readonly op: "leave"; readonly by: Holder }
  | { readonly op: "forget"; readonly incarnations: readonly string[] };

/** What an op did, beyond the new record: all the asking node needs to answer its client. */
export interface OpOutcome {
  /** Why nothing changed. */
  readonly refused?: string;
  /** acquire: granted at once (else queued). */
  readonly granted?: boolean;
  /** arrive: the round this arrival completed. */
  readonly complete?: readonly Arrival[];
  /** withdraw: the waiter was still waiting (else it was granted or released first). */
  readonly present?: boolean;
  /** withdraw: the token a semaphore waiter was granted before it withdrew. */
  readonly grant?: string;
  /**
   * withdraw: the barrier arrival's round completed before it withdrew (not waiting and not
   * remembered: withdrawn already, by this withdrawal's first write, or dropped by the cluster).
   */
  readonly done?: boolean;
}

/**
 * Who writes an op: the node it came from (`here`: the node is the key's home, or the op leaves
 * no trace), the key's home for the node that sent it (`served`: that node writes it again if the
 * answer is lost), or the sending node itself after the home did not answer (`retried`: the home
 * may have written it already).
 */
export type OpVia = "here" | "served" | "retried";

/** Applies `op` to the record of a semaphore (`semaphore`) or a barrier, written `via`. */
export function applyOp(
  semaphore: boolean,
  op: HoldOp,
  record: SemaphoreRecord | BarrierRecord | undefined,
  nowMs: number,
  via: OpVia = "here",
): Change<SemaphoreRecord | BarrierRecord> & OpOutcome {
  const sem = record as SemaphoreRecord | undefined;
  const barrier = record as BarrierRecord | undefined;
  switch (op.op) {
    case "acquire":
      return acquireIn(sem, op.wish, op.who, op.token, nowMs);
    case "release":
      return releaseIn(sem, op, {
        nowMs,
        remember: via === "served",
        retried: via === "retried",
      });
    case "renew":
      return renewIn(sem, op.name, op.token, op.ttlMs, nowMs);
    case "arrive":
      return arriveIn(barrier, op, nowMs);
    case "withdraw": {
      const { w } = op;
      if (!semaphore) {
        return {
          ...leaveIn(barrier, (a) => a.w === w, nowMs),
          present: barrier?.a.some((a) => a.w === w) ?? false,
          ...(recalls(barrier?.d, w, nowMs) ? { done: true } : {}),
        };
      }
      const grant = sem?.h.find((h) => h.w === w)?.t;
      return {
        ...withdrawIn(sem, w),
        present: sem?.q.some((q) => q.w === w) ?? false,
        ...(grant === undefined ? {} : { grant }),
      };
    }
    case "leave": {
      const gone = (e: { n: string; o?: number }) =>
        e.n === op.by.n && e.o === op.by.o;
      return semaphore
        ? dropIn(sem, gone, nowMs)
        : leaveIn(barrier, gone, nowMs);
    }
    case "forget": { // every connection of earlier incarnations of a node
      const gone = (e: { n: string }) => op.incarnations.includes(e.n);
      return semaphore
        ? dropIn(sem, gone, nowMs)
        : leaveIn(barrier, gone, nowMs);
    }
  }
}

/**
 * One write's worth of change to a stored record: expired leases and changes remembered past their
 * window go first, then `change`, then a semaphore's free queue heads are served. `next` is what to store (undefined: delete the key).
 */
export function stepRecord<X>(
  semaphore: boolean,
  change: (
    record: SemaphoreRecord | BarrierRecord | undefined,
  ) => Change<SemaphoreRecord | BarrierRecord> & X,
  record: SemaphoreRecord | BarrierRecord | undefined,
  nowMs: number,
  newToken: (waiter: WaitEntry) => string,
): {
  result: Change<SemaphoreRecord | BarrierRecord> & X;
  next: SemaphoreRecord | BarrierRecord | undefined;
} {
  const before = semaphore
    ? dropIn(record as SemaphoreRecord, () => false, nowMs).record
    : leaveIn(record as BarrierRecord, () => false, nowMs).record;
  const result = change(before);
  if (result.refused !== undefined) return { result, next: record };
  const next = semaphore
    ? serveIn(result.record as SemaphoreRecord, newToken, nowMs)
    : result.record;
  return { result, next };
}
