/**
 * Cluster-wide lock figures for the cluster workload: lock handover latency (holder on one node,
 * waiter on another, vs both on one emd) and how long after `kill -9` of a node its client's lock
 * goes to a waiter on another node (docs/CLUSTER.md, "Releases").
 * @module
 */
import { connect } from "../mod.ts";
import { percentile } from "./workload.ts";

/**
 * Median µs of `rounds` lock handovers between a client on `portA` and one on `portB`: the waiter
 * asks (and makes a round trip to its server, so its request has arrived; with `queued`, waits
 * until the cluster's store shows it queued), then the holder releases; measured from the release
 * to the waiter's grant. The two then swap roles.
 */
export async function lockHandoverUs(
  portA: number,
  portB: number,
  rounds: number,
  queued?: (name: string) => Promise<void>,
): Promise<number> {
  await using a = await connect({ port: portA });
  await using b = await connect({ port: portB });
  const name = `handover_${crypto.randomUUID().slice(0, 8)}`;
  let holder = await a.lock(name);
  let other = b;
  const samples = new Float64Array(rounds);
  for (let i = 0; i < rounds; i++) {
    const next = other.lock(name);
    await other.flush();
    await queued?.(name);
    const started = performance.now();
    await holder.release();
    holder = await next;
    samples[i] = (performance.now() - started) * 1000;
    other = other === a ? b : a;
  }
  await holder.release();
  return percentile(samples.sort(), 50);
}

/**
 * A client of the node on `victimPort` holds a lock and a client of `waiterPort` waits for it;
 * `kill()` kills the victim node with SIGKILL. Returns the ms from the kill to the grant.
 */
export async function lockReleasedAfterKillMs(
  victimPort: number,
  waiterPort: number,
  kill: () => Promise<void>,
): Promise<number> {
  const holder = await connect({ port: victimPort });
  await holder.lock("bench_node_lock");
  await using waiter = await connect({ port: waiterPort });
  const waiting = waiter.lock("bench_node_lock", { timeoutMs: 30_000 });
  await waiter.flush();
  const killedMs = performance.now();
  await kill();
  void holder.close().catch(() => {}); // its node is gone
  const hold = await waiting;
  const ms = performance.now() - killedMs;
  await hold.release();
  return ms;
}

/**
 * Waits (bounded) until someone is queued for a lock, read from the cluster's holds bucket
 * `em_<serverName>_holds` on the NATS servers `urls`.
 */
export async function storeQueue(
  urls: string,
  serverName: string,
): Promise<
  AsyncDisposable & { queued(name: string): Promise<void> }
> {
  const { connect: natsConnect, Kvm } = await import(
    "../server/delivery/_nats.ts"
  );
  const { keyOf } = await import("../server/delivery/nats_latches.ts");
  const nc = await natsConnect({ servers: urls.split(",") });
  const kv = await new Kvm(nc).open(`em_${serverName}_holds`);
  return {
    async queued(name: string) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const entry = await kv.get(keyOf(name, "s"));
        if (
          entry?.operation === "PUT" && entry.json<{ q: [] }>().q.length > 0
        ) {
          return;
        }
        if (Date.now() > deadline) throw new Error(`"${name}" never queued`);
      }
    },
    [Symbol.asyncDispose]: () => nc.close(),
  };
}
