import type { BarrierRecord, SemaphoreRecord } from "./hold_records.ts";
import { type CachedRecord, isSemaphoreKey } from "./hold_cache.ts";
import { nameOf } from "./nats_latches.ts";
import type { SyncStats } from "../metrics/stats.ts";

/**
 * The cluster's semaphores, leases and barriers as the report shows them, from every record as
 * this node last saw it; `who` names a holder or waiter (a peer of this node, else `node#o`).
 */
export function holdsReport(
  records: Iterable<[string, CachedRecord]>,
  who: (entry: { n: string; o?: number }) => string,
): Omit<SyncStats, "latches"> {
  const semaphores: SyncStats["semaphores"][number][] = [];
  const barriers: SyncStats["barriers"][number][] = [];
  let leases = 0;
  for (const [key, { value }] of records) {
    if (value === undefined) continue;
    const name = nameOf(key);
    if (!isSemaphoreKey(key)) {
      const { p, a } = value as BarrierRecord;
      if (a.length === 0) continue; // remembers completed rounds only
      barriers.push({ name, parties: p, waiting: a.map(who) });
      continue;
    }
    const { p, h, q } = value as SemaphoreRecord;
    if (h.length + q.length === 0) continue; // remembers releases only
    leases += h.filter((hold) => hold.e !== undefined).length;
    semaphores.push({
      name,
      permits: p,
      held: h.reduce((sum, hold) => sum + hold.c, 0),
      holders: h.map((hold) => ({
        holder: hold.e === undefined ? who(hold) : "lease",
        count: hold.c,
        lease: hold.e !== undefined,
      })),
      queue: q.map((waiter) => ({ peer: who(waiter), count: waiter.c })),
    });
  }
  const byName = (x: { name: string }, y: { name: string }) =>
    x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
  return {
    semaphores: semaphores.sort(byName),
    leases,
    barriers: barriers.sort(byName),
  };
}
