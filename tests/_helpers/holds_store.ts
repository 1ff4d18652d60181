/** Reads a cluster's holds bucket directly (tests): who holds and waits for a lock, who waits at a barrier. */
import { connect, Kvm } from "../../server/delivery/_nats.ts";
import { keyOf } from "../../server/delivery/nats_latches.ts";
import type {
  BarrierRecord,
  SemaphoreRecord,
} from "../../server/delivery/hold_records.ts";

/** The holds bucket of one event space, read through its own NATS connection. */
export interface HoldsStore extends AsyncDisposable {
  /** The record of the lock or semaphore `name`, undefined when nobody holds or waits. */
  record(name: string): Promise<SemaphoreRecord | undefined>;
  /** How many parties wait at the barrier `name`. */
  arrivals(name: string): Promise<number>;
}

/** Opens the bucket `em_<serverName>_holds` on the NATS servers `urls` (comma-separated). */
export async function openHoldsStore(
  urls: string,
  serverName: string,
): Promise<HoldsStore> {
  const nc = await connect({ servers: urls.split(",") });
  const kv = await new Kvm(nc).open(`em_${serverName}_holds`);
  const read = async <R>(key: string): Promise<R | undefined> => {
    const entry = await kv.get(key);
    return entry?.operation === "PUT" ? entry.json<R>() : undefined;
  };
  return {
    record: async (name) => { // a record that only remembers releases: nobody holds or waits
      const record = await read<SemaphoreRecord>(keyOf(name, "s"));
      return record?.h.length || record?.q.length ? record : undefined;
    },
    arrivals: async (name) =>
      (await read<BarrierRecord>(keyOf(name, "b")))?.a.length ?? 0,
    [Symbol.asyncDispose]: () => nc.close(),
  };
}
