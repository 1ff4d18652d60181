/**
 * fanout: one publisher writes M triggers back to back; S receivers (1, 10, 100, 1000) spread
 * over worker processes count and check every delivery. The figure is deliveries per second.
 * @module
 */
import { Publisher } from "./_publisher.ts";
import { WorkerPool } from "./_pool.ts";
import { CpuMeter } from "./_proc.ts";
import type { PhaseStats } from "./_receivers.ts";
import type { Emd } from "./_emd.ts";
import {
  type BenchContext,
  type BenchOptions,
  round,
  type Row,
  type Workload,
  type WorkloadResult,
} from "./workload.ts";

const BURST_DEADLINE_MS = 60_000;
const PILOT_DELIVERIES = 300_000;
const QUICK_DELIVERIES = 20_000;

/** One measured burst. */
export interface Burst {
  readonly messages: number;
  readonly stats: PhaseStats;
  /** Deliveries per second: deliveries ÷ (last delivery − first write). */
  readonly rate: number;
  readonly seconds: number;
  readonly serverCpuPct: number | undefined;
  readonly loadgenCpuPct: number | undefined;
}

/**
 * Runs one burst of `messages` through `pool` (receivers already probed); it ends when all
 * arrived or `idleMs` after the last delivery (the rest is lost).
 */
export async function burst(
  emd: Emd,
  pool: WorkerPool,
  publisher: Publisher,
  messages: number,
  idleMs: number,
): Promise<Burst> {
  await pool.ask({ cmd: "phase", messages }, 10_000);
  const server = new CpuMeter([emd.pid]);
  const loadgen = new CpuMeter(["self", ...pool.pids]);
  server.start();
  loadgen.start();
  const started = await publisher.burst(messages);
  const stats = await pool.finish(idleMs, BURST_DEADLINE_MS);
  const seconds = Math.max(stats.lastMs - started, 1) / 1000;
  return {
    messages,
    stats,
    rate: stats.deliveries / seconds,
    seconds,
    serverCpuPct: server.stop(),
    loadgenCpuPct: loadgen.stop(),
  };
}

/** What went wrong in a burst, as failure lines (none when clean). */
export function burstFailures(label: string, b: Burst): string[] {
  const failures: string[] = [];
  const lost = b.stats.subs * b.messages - b.stats.deliveries;
  if (lost !== 0) failures.push(`${label}: ${lost} lost`);
  if (b.stats.ooo !== 0) failures.push(`${label}: ${b.stats.ooo} out of order`);
  if (b.stats.disconnected !== 0) {
    failures.push(`${label}: ${b.stats.disconnected} disconnected`);
  }
  if (b.stats.unexpected !== 0) {
    failures.push(`${label}: ${b.stats.unexpected} unexpected lines`);
  }
  return failures;
}

/** Pilot bursts, growing until one lasts 0.4 s; returns M for a burst of about `seconds`. */
async function calibrate(
  emd: Emd,
  pool: WorkerPool,
  publisher: Publisher,
  options: BenchOptions,
): Promise<number> {
  const subs = pool.sizes.reduce((a, b) => a + b, 0);
  let messages = Math.max(10, Math.round(PILOT_DELIVERIES / subs));
  for (let pilot = 0; pilot < 6; pilot++) {
    const b = await burst(emd, pool, publisher, messages, options.idleMs);
    const perSecond = b.stats.deliveries / subs / b.seconds;
    if (b.seconds >= 0.4 || pilot === 5) {
      return Math.max(100, Math.round(perSecond * options.seconds));
    }
    messages = Math.round(
      messages * Math.min(10, Math.max(2, 0.5 / b.seconds)),
    );
  }
  return messages; // not reached: the last pilot returns
}

async function measure(
  context: BenchContext,
  subs: number,
): Promise<{ rows: Row[]; failures: string[] }> {
  const { options } = context;
  const emd = await context.emd();
  await using pool = await WorkerPool.start(emd.port, subs, options.workers);
  await using publisher = await Publisher.connect(emd.port);
  await publisher.probe(pool, 30_000);
  let messages = Math.max(1, Math.round(QUICK_DELIVERIES / subs));
  if (!options.quick) messages = await calibrate(emd, pool, publisher, options);
  const rows: Row[] = [];
  const failures: string[] = [];
  for (let rep = 1; rep <= options.reps; rep++) {
    const b = await burst(emd, pool, publisher, messages, options.idleMs);
    context.progress(
      `fanout S=${subs} run ${rep}: ${round(b.rate / 1e6)} M msg/s`,
    );
    failures.push(...burstFailures(`fanout S=${subs} run ${rep}`, b));
    rows.push({
      S: subs,
      run: rep,
      M: messages,
      "M msg/s": round(b.rate / 1e6),
      "run s": round(b.seconds),
      lost: subs * messages - b.stats.deliveries,
      ooo: b.stats.ooo,
      disconnected: b.stats.disconnected,
      "emd CPU %": b.serverCpuPct ?? null,
      "loadgen CPU %": b.loadgenCpuPct ?? null,
    });
  }
  return { rows, failures };
}

/** The fanout workload. */
export const fanout: Workload = {
  name: "fanout",
  summary: "delivered msg/s, one pipelined publisher, S receivers",
  async run(context: BenchContext): Promise<WorkloadResult> {
    const rows: Row[] = [];
    const failures: string[] = [];
    for (const subs of context.options.fanoutSubs) {
      const result = await measure(context, subs);
      rows.push(...result.rows);
      failures.push(...result.failures);
    }
    return { rows, failures };
  },
};
