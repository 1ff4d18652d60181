import type { SyncStats } from "../metrics/stats.ts";
import type { BarrierTable } from "./barriers.ts";
import type { SemaphoreTable } from "./semaphores.ts";

/** Something that holds or waits: a session, named by its peer. */
interface Owner {
  readonly peer: string;
}

/** The sync state as reports show it: holders and queues by peer, leases as "lease". */
export function syncReport<O extends Owner>(
  latches: ReadonlySet<string>,
  semaphores: SemaphoreTable<O>,
  barriers: BarrierTable<O>,
): SyncStats {
  return {
    latches: [...latches].sort(),
    semaphores: semaphores.names().sort().flatMap((name) => {
      const view = semaphores.inspect(name);
      if (view === undefined) return [];
      const holders = view.holds.map(({ owner, count }) => ({
        holder: owner?.peer ?? "lease",
        count,
        lease: owner === undefined,
      }));
      return [{
        name,
        permits: view.permits,
        held: holders.reduce((sum, hold) => sum + hold.count, 0),
        holders,
        queue: view.queue.map(({ owner, count }) => ({
          peer: owner.peer,
          count,
        })),
      }];
    }),
    leases: semaphores.leaseCount,
    barriers: barriers.list().map(({ name, parties, owners }) => ({
      name,
      parties,
      waiting: owners.map((owner) => owner.peer),
    })),
  };
}
