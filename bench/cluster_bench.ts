/**
 * cluster: emd nodes over a real 3-node NATS cluster, against one emd, in one run (ratios: the
 * machine is shared): trigger→wake latency from node a to a receiver of node b vs within one emd;
 * fan-out of one burst to receivers spread over 3 nodes vs the same receivers on one emd; and raw
 * NATS pub/sub of the same burst to 3 subscribers (one per NATS server) as the engine's ceiling,
 * against 300 em receivers and against one em receiver per node (the same shape); and the
 * batching A/B (bench/cluster_batch_bench.ts).
 * Also a latch's acknowledgement (the cluster stores it in a replicated KV bucket first) and how
 * long a killed node is still waited for. Skipped, saying why, without `nats-server`. Cluster-wide
 * locks: handover from a holder on node a to a waiter on node b vs both on one emd and vs both on
 * node a, and how long after `kill -9` of a fourth node its client's lock reaches a waiter.
 * @module
 */
import { fileURLToPath } from "node:url";
import { connect } from "../mod.ts";
import { hasNatsServer, startNatsCluster } from "./_nats_cluster.ts";
import {
  lockHandoverUs,
  lockReleasedAfterKillMs,
  storeQueue,
} from "./_cluster_locks.ts";
import { batchingAB } from "./cluster_batch_bench.ts";
import { type EmdProcess, spawnListening } from "./_cluster_spawn.ts";
import { Publisher } from "./_publisher.ts";
import { ReceiverSet } from "./_receivers.ts";
import { epochMs } from "./_proc.ts";
import {
  type BenchContext,
  percentile,
  round,
  type Row,
  type Workload,
  type WorkloadResult,
} from "./workload.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

/** An emd process (clustered or not) on a free port. */
function spawnEmd(name: string, clusterUrl?: string): Promise<EmdProcess> {
  return spawnListening([
    MAIN,
    "emd",
    "-q",
    ...(clusterUrl ? ["--cluster", clusterUrl] : []),
    "--free-port",
    name,
  ]);
}

/** Trigger→wake round trips from a sender on `fromPort` to a receiver on `toPort`, in µs. */
async function latency(
  fromPort: number,
  toPort: number,
  samples: number,
): Promise<Float64Array> {
  await using receiver = await connect({ port: toPort, receive: true });
  await using sender = await connect({ port: fromPort });
  await receiver.flush();
  for (let i = 0;; i++) { // the nodes know each other: a probe arrives
    const got = receiver.next("lat_probe");
    await sender.trigger("lat_probe");
    const ok = await Promise.race([
      got,
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 200)),
    ]);
    if (ok) break;
    if (i > 100) {
      throw new Error("latency: the receiver's node never got a trigger");
    }
  }
  const result = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const got = receiver.next("lat");
    const started = performance.now();
    await sender.trigger("lat");
    await got;
    result[i] = (performance.now() - started) * 1000;
  }
  return result.sort();
}

/** Median µs of `count` latches acknowledged one after another by the server on `port`. */
async function latchMedianUs(port: number, count: number): Promise<number> {
  await using client = await connect({ port });
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await client.trigger(`latch_bench_${i % 10}`, { latch: true });
    samples[i] = (performance.now() - started) * 1000;
  }
  return percentile(samples.sort(), 50);
}

/** One burst of `messages` to `subs` receivers spread over `ports`; deliveries per second. */
export async function fanout(
  ports: readonly number[],
  subs: number,
  messages: number,
): Promise<{ rate: number; lost: number; ooo: number }> {
  const sets = await Promise.all(
    ports.map((port, i) =>
      ReceiverSet.connect(
        port,
        Math.floor(subs / ports.length) + (i < subs % ports.length ? 1 : 0),
      )
    ),
  );
  await using publisher = await Publisher.connect(ports[0]!);
  try {
    for (const set of sets) await publisher.probe(set, 30_000);
    for (const set of sets) set.startPhase(messages);
    const started = await publisher.burst(messages);
    const stats = await Promise.all(
      sets.map((set) => set.finishPhase(1_000, 60_000)),
    );
    const deliveries = stats.reduce((sum, s) => sum + s.deliveries, 0);
    const lastMs = Math.max(...stats.map((s) => s.lastMs));
    return {
      rate: deliveries / ((lastMs - started) / 1000),
      lost: subs * messages - deliveries,
      ooo: stats.reduce((sum, s) => sum + s.ooo, 0),
    };
  } finally {
    await Promise.all(sets.map((set) => set.close()));
  }
}

/** Raw NATS: `messages` published on one server, one subscriber per server; messages per second per subscriber. */
async function rawNats(
  ports: readonly number[],
  messages: number,
  perServer = 1,
): Promise<number> {
  const { connect: natsConnect } = await import("../server/delivery/_nats.ts");
  const subscribers = await Promise.all(
    ports.flatMap((port) =>
      Array.from(
        { length: perServer },
        () => natsConnect({ servers: `127.0.0.1:${port}` }),
      )
    ),
  );
  const publisher = await natsConnect({ servers: `127.0.0.1:${ports[0]}` });
  try {
    let ready = 0;
    const done = subscribers.map((nc) =>
      new Promise<number>((resolve) => {
        let count = 0;
        nc.subscribe("bench.raw", {
          callback: () => {
            if (++count === messages) resolve(epochMs());
          },
        });
        nc.subscribe("bench.ready", {
          callback: () => {
            ready++;
          },
        });
      })
    );
    await Promise.all(subscribers.map((nc) => nc.flush()));
    for (let i = 0; ready < subscribers.length; i++) { // interest has reached every server
      ready = 0;
      publisher.publish("bench.ready");
      await publisher.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (i > 200) throw new Error("raw NATS: subscribers never ready");
    }
    const payload = new TextEncoder().encode("Tb1234567\n");
    const started = epochMs();
    for (let i = 0; i < messages; i++) publisher.publish("bench.raw", payload);
    await publisher.flush();
    const lastMs = Math.max(...await Promise.all(done));
    return messages / ((lastMs - started) / 1000);
  } finally {
    await Promise.all([publisher, ...subscribers].map((nc) => nc.close()));
  }
}

/**
 * Kills node c with SIGKILL, then sends counted triggers from node a until one is answered without
 * waiting for c (under 200 ms, the count timeout being 1000): how long a dead node is still
 * taken for alive (heartbeats every 1 s, forgotten after 3.5 s unheard).
 */
async function deadNodeForgottenMs(
  ports: readonly number[],
  victim: { kill(): Promise<void> },
): Promise<number> {
  await using sender = await connect({ port: ports[0]! });
  await using receiver = await connect({ port: ports[2]!, receive: true });
  await receiver.flush();
  for (let i = 0; await sender.trigger("dead_probe", 1) < 1; i++) {
    if (i > 100) throw new Error("dead node: node c never counted");
  }
  const killedMs = performance.now();
  await victim.kill();
  for (;;) {
    const sentMs = performance.now();
    await sender.trigger("dead_probe", 1);
    const nowMs = performance.now();
    if (nowMs - sentMs < 200) return nowMs - killedMs;
    if (nowMs - killedMs > 30_000) {
      throw new Error("dead node: never forgotten");
    }
  }
}

async function run(context: BenchContext): Promise<WorkloadResult> {
  if (!hasNatsServer()) {
    context.progress("cluster: skipped: nats-server is not installed");
    return { rows: [], failures: [] };
  }
  const quick = context.options.quick;
  const samples = quick ? 200 : 1_000;
  const subs = quick ? 30 : 300;
  const messages = quick ? 500 : 5_000;
  await using nats = await startNatsCluster();
  const started = await Promise.allSettled(
    nats.ports.map((port) => spawnEmd("bench", `nats://127.0.0.1:${port}`)),
  );
  const nodes = started.flatMap((s) =>
    s.status === "fulfilled" ? [s.value] : []
  );
  if (nodes.length < started.length) { // stop the others: no orphan emd
    await Promise.all(nodes.map((node) => node.stop()));
    throw started.find((s) => s.status === "rejected")!.reason;
  }
  const lone = await spawnEmd("lone");
  const rows: Row[] = [];
  const failures: string[] = [];
  try {
    const ports = nodes.map((node) => node.port);
    const one = await latency(lone.port, lone.port, samples);
    const cross = await latency(ports[0]!, ports[1]!, samples);
    rows.push(
      {
        measure: "trigger→wake p50 µs",
        "one emd": round(percentile(one, 50)),
        "3 nodes": round(percentile(cross, 50)),
        ratio: round(percentile(cross, 50) / percentile(one, 50), 2),
      },
      {
        measure: "trigger→wake p99 µs",
        "one emd": round(percentile(one, 99)),
        "3 nodes": round(percentile(cross, 99)),
        ratio: round(percentile(cross, 99) / percentile(one, 99), 2),
      },
    );
    const single = await fanout([lone.port], subs, messages);
    const spread = await fanout(ports, subs, messages);
    for (
      const [what, r] of [["one emd", single], ["3 nodes", spread]] as const
    ) {
      if (r.lost !== 0 || r.ooo !== 0) {
        failures.push(
          `cluster fanout (${what}): ${r.lost} lost, ${r.ooo} out of order`,
        );
      }
    }
    rows.push({
      measure: `fan-out ${messages} × ${subs} receivers, deliveries/s`,
      "one emd": round(single.rate),
      "3 nodes": round(spread.rate),
      ratio: round(spread.rate / single.rate, 2),
    });
    const raw = await rawNats(nats.ports, messages);
    const perNode = spread.rate / subs; // messages per second reaching each receiver
    rows.push({
      measure:
        `messages/s reaching each node: em (per receiver) vs raw NATS (per subscriber), ${messages} messages`,
      "one emd": null,
      "3 nodes": round(perNode),
      ratio: round(perNode / raw, 2),
      "raw NATS": round(raw),
    });
    const rawWide = await rawNats(nats.ports, messages, subs / 3);
    rows.push({
      measure:
        `messages/s reaching each receiver, the same shape on both sides: ${subs} em receivers (${
          subs / 3
        } per node) vs ${subs} NATS subscribers (${
          subs / 3
        } per server), ${messages} messages`,
      "one emd": null,
      "3 nodes": round(perNode),
      ratio: round(perNode / rawWide, 2),
      "raw NATS": round(rawWide),
    });
    const lean = await fanout(ports, 3, messages); // the same shape as raw NATS: one per node
    rows.push({
      measure:
        `messages/s reaching each node, one receiver per node (raw NATS: one subscriber per server), ${messages} messages`,
      "one emd": null,
      "3 nodes": round(lean.rate / 3),
      ratio: round(lean.rate / 3 / raw, 2),
      "raw NATS": round(raw),
    });
    try { // its 6 extra nodes may fail to start on a starved machine: say so, keep the rest
      const ab = await batchingAB(nats.ports, {
        publishers: quick ? 10 : 50,
        messages: quick ? 500 : 50_000,
        runs: quick ? 1 : 3,
      });
      rows.push({ ...ab.row, "raw NATS": round(raw) });
      failures.push(...ab.failures);
    } catch (error) {
      failures.push(`cluster batching A/B: ${(error as Error).message}`);
    }
    const latchOne = await latchMedianUs(lone.port, quick ? 50 : 300);
    const latchCluster = await latchMedianUs(ports[0]!, quick ? 50 : 300);
    rows.push({
      measure:
        "latch acknowledged p50 µs (cluster: stored in the replicated KV bucket)",
      "one emd": round(latchOne),
      "3 nodes": round(latchCluster),
      ratio: round(latchCluster / latchOne, 2),
    });
    rows.push(
      ...await lockRows(lone.port, ports, nats.urls, quick ? 50 : 300),
    );
    const victim = await spawnEmd("bench", `nats://127.0.0.1:${nats.ports[2]}`);
    nodes.push(victim);
    rows.push({
      measure:
        "kill -9 of a node → its client's lock granted to a waiter on another node, ms",
      "one emd": null,
      "3 nodes": round(
        await lockReleasedAfterKillMs(victim.port, ports[0]!, victim.kill),
      ),
      ratio: null,
    });
    rows.push({
      measure: "kill -9 of a node → its peers stop waiting for it, ms",
      "one emd": null,
      "3 nodes": round(await deadNodeForgottenMs(ports, nodes[2]!)),
      ratio: null,
    });
    const find = (start: string) =>
      rows.find((row) => String(row.measure).startsWith(start));
    const handover = find("lock handover p50 µs: holder");
    const sameNode = find("lock handover p50 µs: across");
    const killed = find("kill -9 of a node → its client's lock");
    context.progress(
      `cluster locks: handover a→b ${handover!["3 nodes"]} µs vs one emd ${
        handover!["one emd"]
      } µs (×${handover!.ratio}, target ≤ 2) and vs both on node a ${
        sameNode!["3 nodes"]
      } µs (×${sameNode!.ratio}); kill -9 of a node → its lock released in ${
        killed!["3 nodes"]
      } ms`,
    );
    context.progress(
      `cluster: p50 ${rows[0]!["3 nodes"]} µs vs ${
        rows[0]!["one emd"]
      } µs; fan-out ×${rows[2]!.ratio}; vs raw NATS ×${
        rows[3]!.ratio
      } (same shape ×${rows[4]!.ratio})`,
    );
  } finally {
    await Promise.all([...nodes, lone].map((node) => node.stop()));
  }
  return { rows, failures };
}

/** Lock handover rows: across nodes vs one emd (issue 15's target: within 2×) and vs one node. */
async function lockRows(
  lonePort: number,
  ports: readonly number[],
  urls: string,
  rounds: number,
): Promise<Row[]> {
  await using store = await storeQueue(urls, "bench");
  const queued = (name: string) => store.queued(name);
  const lone = await lockHandoverUs(lonePort, lonePort, rounds);
  const same = await lockHandoverUs(ports[0]!, ports[0]!, rounds, queued);
  const cross = await lockHandoverUs(ports[0]!, ports[1]!, rounds, queued);
  return [{
    measure:
      "lock handover p50 µs: holder on node a → waiter on node b vs both on one emd (target ≤ 2×)",
    "one emd": round(lone),
    "3 nodes": round(cross),
    ratio: round(cross / lone, 2),
  }, {
    measure:
      "lock handover p50 µs: across nodes a → b vs both clients on clustered node a (ratio: across/same)",
    "one emd": null,
    "3 nodes": round(same),
    ratio: round(cross / same, 2),
  }];
}

/** The cluster workload. */
export const cluster: Workload = {
  name: "cluster",
  summary:
    "3 emd nodes over 3 nats-servers vs one emd: latency, fan-out, raw NATS ceiling",
  run,
};
