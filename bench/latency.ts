/**
 * latency: 10 receivers, one trigger every millisecond; each sample is the time from just before
 * the trigger's write to just after the read that brought it to one receiver. Publisher and
 * receivers share one process and one clock (the load is light: one process is no bottleneck).
 * @module
 */
import { Publisher } from "./_publisher.ts";
import { ReceiverSet } from "./_receivers.ts";
import { CpuMeter, epochMs } from "./_proc.ts";
import { pause } from "./_deadline.ts";
import {
  type BenchContext,
  percentile,
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
  const { latencySubs: subs, latencyMessages: messages, latencyRate } =
    context.options;
  const emd = await context.emd();
  const samples = new Float64Array(subs * messages);
  const sentMs = new Float64Array(messages);
  let count = 0;
  let base = 0;
  const receivers = await ReceiverSet.connect(emd.port, subs, {
    onDelivery(seq, atMs) {
      const sent = sentMs[seq - base - 1];
      if (sent !== undefined && count < samples.length) {
        samples[count++] = (atMs - sent) * 1000;
      }
    },
  });
  await using publisher = await Publisher.connect(emd.port);
  try {
    await publisher.probe(receivers, 30_000);
    base = publisher.seq;
    receivers.startPhase(messages);
    const cpu = new CpuMeter([emd.pid]);
    cpu.start();
    const intervalMs = 1000 / latencyRate;
    const started = performance.now();
    for (let i = 0; i < messages; i++) {
      const wait = started + i * intervalMs - performance.now();
      if (wait >= 0.5) await pause(Math.round(wait));
      sentMs[i] = epochMs();
      await publisher.next();
    }
    const sendSeconds = (performance.now() - started) / 1000;
    const stats = await receivers.finishPhase(1_000, 30_000);
    const serverCpu = cpu.stop();
    const sorted = samples.subarray(0, count).sort();
    const lost = subs * messages - stats.deliveries;
    const failures: string[] = [];
    if (lost !== 0) failures.push(`latency run ${run}: ${lost} lost`);
    if (stats.ooo !== 0) {
      failures.push(`latency run ${run}: ${stats.ooo} out of order`);
    }
    if (stats.disconnected !== 0) {
      failures.push(`latency run ${run}: ${stats.disconnected} disconnected`);
    }
    return {
      row: {
        run,
        receivers: subs,
        samples: count,
        "sent/s": Math.round(messages / sendSeconds),
        lost,
        "p50 µs": Math.round(percentile(sorted, 50)),
        "p90 µs": Math.round(percentile(sorted, 90)),
        "p99 µs": Math.round(percentile(sorted, 99)),
        "p99.9 µs": Math.round(percentile(sorted, 99.9)),
        "max µs": Math.round(sorted[sorted.length - 1] ?? NaN),
        "emd CPU %": serverCpu === undefined ? null : round(serverCpu, 2),
      },
      failures,
    };
  } finally {
    await receivers.close();
  }
}

/** The latency workload. */
export const latency: Workload = {
  name: "latency",
  summary: "µs from a trigger's write to each receiver's read, 10 receivers",
  run: (context: BenchContext): Promise<WorkloadResult> =>
    repeatRuns(context, once, (row) => `latency: p99 ${row["p99 µs"]} µs`),
};
