/**
 * The cluster workload's batching A/B: many publishers on node a, each writing one trigger per
 * write, one receiver per node; 3 nodes that publish each task's deliveries as one NATS message
 * against 3 that publish each delivery on its own, alternated in one run (medians and each value).
 * @module
 */
import { fileURLToPath } from "node:url";
import { cpuSeconds, epochMs } from "./_proc.ts";
import { Publisher } from "./_publisher.ts";
import { ReceiverSet } from "./_receivers.ts";
import { type EmdProcess, spawnListening } from "./_cluster_spawn.ts";
import { percentile, round, type Row } from "./workload.ts";

const NODE = fileURLToPath(new URL("./_cluster_node.ts", import.meta.url));

/** Messages per second reaching each of 3 receivers (one per node) from `publishers` senders. */
async function manyPublishers(
  ports: readonly number[],
  publishers: number,
  messages: number,
): Promise<{ rate: number; lost: number }> {
  const sets = await Promise.all(
    ports.map((port) => ReceiverSet.connect(port, 1)),
  );
  const senders = await Promise.all(
    Array.from({ length: publishers }, () => Publisher.connect(ports[0]!)),
  );
  try {
    for (const set of sets) await senders[0]!.probe(set, 30_000);
    for (const set of sets) set.startPhase(messages);
    const started = epochMs();
    await Promise.all(senders.map(async (sender, i) => {
      const share = Math.floor(messages / publishers) +
        (i < messages % publishers ? 1 : 0);
      for (let k = 0; k < share; k++) await sender.next(); // one write each
    }));
    const stats = await Promise.all(
      sets.map((set) => set.finishPhase(1_000, 60_000)),
    );
    const deliveries = stats.reduce((sum, s) => sum + s.deliveries, 0);
    const lastMs = Math.max(...stats.map((s) => s.lastMs));
    return {
      rate: deliveries / sets.length / ((lastMs - started) / 1000),
      lost: sets.length * messages - deliveries,
    };
  } finally {
    for (const sender of senders) sender.close();
    await Promise.all(sets.map((set) => set.close()));
  }
}

/**
 * Runs the A/B `runs` times each way, alternating; returns its row and any losses as failures.
 * @param natsPorts the NATS servers' client ports (node i joins server i)
 */
export async function batchingAB(
  natsPorts: readonly number[],
  { publishers, messages, runs }: {
    publishers: number;
    messages: number;
    runs: number;
  },
): Promise<{ row: Row; failures: string[] }> {
  const start = (batch: "on" | "off") =>
    Promise.all(natsPorts.map((port) =>
      spawnListening([
        NODE,
        `nats://127.0.0.1:${port}`,
        `batch_${batch}`,
        batch,
      ])
    ));
  const nodes: EmdProcess[][] = [];
  const failures: string[] = [];
  const rates: Record<"on" | "off", number[]> = { on: [], off: [] };
  const cpu: Record<"on" | "off", number[]> = { on: [], off: [] }; // receiving nodes' ms per 1000
  try {
    nodes.push(await start("on"), await start("off"));
    for (let run = 0; run < runs; run++) {
      for (const [i, batch] of [[0, "on"], [1, "off"]] as const) {
        const ports = nodes[i]!.map((node) => node.port);
        const receiving = nodes[i]!.slice(1).map((node) => node.pid); // b and c
        const cpuBefore = receiving.map((pid) => cpuSeconds(pid) ?? NaN);
        const result = await manyPublishers(ports, publishers, messages);
        const used = receiving.reduce(
          (sum, pid, k) => sum + (cpuSeconds(pid) ?? NaN) - cpuBefore[k]!,
          0,
        );
        cpu[batch].push(round(used * 1000 / (2 * messages / 1000)));
        if (result.lost > 0) {
          failures.push(`cluster batching ${batch}: ${result.lost} lost`);
        }
        rates[batch].push(round(result.rate));
      }
    }
  } finally {
    await Promise.all(nodes.flat().map((node) => node.stop()));
  }
  const median = (values: number[]) =>
    percentile(Float64Array.from(values).sort(), 50);
  return {
    row: {
      measure:
        `messages/s reaching each node, ${publishers} publishers writing one trigger each time, ${messages} messages: batched vs one NATS message per delivery (runs: ${
          rates.on.join(", ")
        } vs ${
          rates.off.join(", ")
        }; receiving nodes' CPU ms per 1000 deliveries: ${
          cpu.on.join(", ")
        } vs ${cpu.off.join(", ")})`,
      "one emd": null,
      "3 nodes": round(median(rates.on)),
      ratio: round(median(rates.on) / median(rates.off), 2),
      unbatched: round(median(rates.off)),
      "CPU ms/1000 batched": round(median(cpu.on)),
      "CPU ms/1000 unbatched": round(median(cpu.off)),
    },
    failures,
  };
}
