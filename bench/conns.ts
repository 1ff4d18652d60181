/**
 * conns: N idle receivers (10 000 by default) on a freshly started emd. Server memory per
 * connection from its VmRSS before any connection and after all N are subscribed and have rested
 * 0.5 s; then one trigger, the time until the first and the last of the N read it, and the CPU
 * emd spent on it per receiver, in user space (JavaScript and Deno) and in the kernel (/proc's 10
 * ms ticks: 1 µs per receiver at N = 10 000).
 * @module
 */
import { Publisher } from "./_publisher.ts";
import { WorkerPool } from "./_pool.ts";
import { type CpuTimes, cpuTimes, rssKb } from "./_proc.ts";
import { pause } from "./_deadline.ts";
import { burstFailures } from "./fanout.ts";
import {
  type BenchContext,
  repeatRuns,
  round,
  type RunResult,
  type Workload,
  type WorkloadResult,
} from "./workload.ts";

async function once(
  context: BenchContext,
  run: number,
): Promise<RunResult> {
  const n = context.options.conns;
  // a fresh server: one that held and freed connections before reuses that memory
  await using emd = await context.freshEmd();
  const before = rssKb(emd.pid);
  const setupStarted = performance.now();
  await using pool = await WorkerPool.start(
    emd.port,
    n,
    context.options.workers,
  );
  await using publisher = await Publisher.connect(emd.port);
  await publisher.probe(pool, 60_000);
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  await pause(500); // rest, as the yardstick does, before reading memory
  const after = rssKb(emd.pid);
  await pool.ask({ cmd: "phase", messages: 1 }, 10_000);
  const cpuBefore = cpuTimes(emd.pid);
  const started = await publisher.burst(1);
  const stats = await pool.finish(3_000, 30_000);
  const cpu = cpuPerReceiver(cpuBefore, cpuTimes(emd.pid), n); // an idle emd adds ~nothing
  const perConn = before === undefined || after === undefined
    ? null
    : round((after - before) / n, 3);
  return {
    row: {
      run,
      N: n,
      "RSS before KB": before ?? null,
      "RSS after KB": after ?? null,
      "KB per conn": perConn,
      "all got it ms": round(stats.lastMs - started),
      "first got it ms": round(stats.firstMs - started),
      "server user µs per receiver": cpu?.userUs ?? null,
      "server kernel µs per receiver": cpu?.kernelUs ?? null,
      lost: n - stats.deliveries,
      "setup s": round(setupSeconds),
    },
    failures: burstFailures(`conns run ${run}`, {
      messages: 1,
      stats,
      rate: 0,
      seconds: 0,
      serverCpuPct: undefined,
      loadgenCpuPct: undefined,
    }),
  };
}

/** The CPU emd spent on one trigger, per receiver: µs in user space and in the kernel. */
function cpuPerReceiver(
  before: CpuTimes | undefined,
  after: CpuTimes | undefined,
  receivers: number,
): { userUs: number; kernelUs: number } | undefined {
  if (before === undefined || after === undefined) return undefined;
  const us = (seconds: number) => round(seconds * 1e6 / receivers, 2);
  return {
    userUs: us(after.userSeconds - before.userSeconds),
    kernelUs: us(after.systemSeconds - before.systemSeconds),
  };
}

/** The conns workload. */
export const conns: Workload = {
  name: "conns",
  summary: "emd RSS per idle receiver, one trigger to all (fresh emd)",
  run: (context: BenchContext): Promise<WorkloadResult> =>
    repeatRuns(
      context,
      once,
      (row) =>
        `conns: ${row["KB per conn"]} KB/conn, all in ${
          row["all got it ms"]
        } ms`,
    ),
};
