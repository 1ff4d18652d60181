/**
 * stall: S receivers (100 by default) in worker processes. S − 1 of them take a burst alone for
 * their base rate; then one more receiver, in a process of its own, joins and stops reading, and a
 * second burst gives the others' rate beside it. emd must cut the stalled one off at its output
 * limit without slowing the others: the change in % is the figure, and the cut is checked.
 * @module
 */
import { pause } from "./_deadline.ts";
import { epochMs } from "./_proc.ts";
import { Publisher } from "./_publisher.ts";
import { WorkerPool } from "./_pool.ts";
import type { PhaseStats } from "./_receivers.ts";
import {
  type BenchContext,
  repeatRuns,
  round,
  type RunResult,
  type Workload,
  type WorkloadResult,
} from "./workload.ts";

const PAD = 60; // longer names: the stalled connection's backlog passes emd's limit sooner
const MESSAGE_BYTES = PAD + 10;
/** Enough bytes to fill the kernel's buffers (about 4 MiB here) and emd's 1 MiB limit. */
const MIN_BURST_BYTES = 8 * 1024 * 1024;
const DEADLINE_MS = 60_000;
/**
 * How long the others may see nothing before the rest of a burst counts as lost: longer than
 * emd's longest stall verdict (10 s, `MAX_STALL_MS`), during which the senders are held back.
 */
const IDLE_MS = 12_000;

async function phase(
  others: WorkerPool,
  stalled: WorkerPool | undefined,
  publisher: Publisher,
  messages: number,
  idleMs: number,
): Promise<{ stats: PhaseStats; rate: number; seconds: number }> {
  await Promise.all([
    others.ask({ cmd: "phase", messages }, 10_000),
    stalled?.ask({ cmd: "stall" }, 10_000),
  ]);
  const started = await publisher.burst(messages, PAD);
  const stats = await others.finish(idleMs, DEADLINE_MS);
  const seconds = Math.max(stats.lastMs - started, 1) / 1000;
  return { stats, rate: stats.deliveries / seconds, seconds };
}

function check(label: string, stats: PhaseStats, messages: number): string[] {
  const failures: string[] = [];
  const lost = stats.subs * messages - stats.deliveries;
  if (lost !== 0) failures.push(`${label}: ${lost} lost by the others`);
  if (stats.ooo !== 0) failures.push(`${label}: ${stats.ooo} out of order`);
  if (stats.disconnected !== 0) {
    failures.push(`${label}: ${stats.disconnected} others disconnected`);
  }
  return failures;
}

async function once(
  context: BenchContext,
  run: number,
): Promise<RunResult> {
  const emd = await context.emd();
  const subs = context.options.stallSubs;
  const least = Math.ceil(MIN_BURST_BYTES / MESSAGE_BYTES);
  await using others = await WorkerPool.start(
    emd.port,
    subs - 1,
    context.options.workers,
  );
  await using publisher = await Publisher.connect(emd.port);
  await publisher.probe(others, 30_000);
  const idleMs = Math.max(context.options.idleMs, IDLE_MS);
  const warm = await phase(others, undefined, publisher, least, idleMs); // not counted
  // A stall costs the others one pause of up to emd's stall verdict (1 s) per episode, so the
  // change depends on how long the phase lasts: size it by time (--stall-seconds), not bytes.
  const perReceiverPerSecond = warm.rate / (subs - 1);
  const messages = Math.max(
    least,
    Math.round(perReceiverPerSecond * context.options.stallSeconds),
  );
  const base = await phase(others, undefined, publisher, messages, idleMs);
  // The stalled receiver connects only now, having never read a burst: Linux grows a socket's
  // receive buffer only as the application reads (up to tcp_rmem's maximum, 32 MiB here), so a
  // receiver that had kept up with earlier bursts could swallow this one in the kernel and
  // never reach emd's output limit. Fresh, it holds ~128 KiB and the burst must hit the limit.
  await using stalled = await WorkerPool.start(emd.port, 1, 1);
  await publisher.probe({
    awaitProbe: (what, ms) =>
      Promise.all([others.awaitProbe(what, ms), stalled.awaitProbe(what, ms)]),
  }, 30_000);
  const logBefore = emd.log().length;
  const cutLog = () => /Cannot queue output/.test(emd.log().slice(logBefore));
  const beside = await phase(others, stalled, publisher, messages, idleMs);
  // It reads again only once emd has cut it off (or after emd's longest verdict): reading before
  // the verdict, it would be a slow reader, which emd never cuts off.
  for (const end = epochMs() + IDLE_MS; !cutLog() && epochMs() < end;) {
    await pause(100);
  }
  const [drained] = await stalled.ask(
    { cmd: "drain", idleMs: 1_000, timeoutMs: 15_000 },
    20_000,
  );
  const cut = drained?.closed === 1;
  const cutLogged = cutLog();
  const changePct = (beside.rate / base.rate - 1) * 100;
  const failures = [
    ...check(`stall run ${run} (warm-up)`, warm.stats, least),
    ...check(`stall run ${run} (all reading)`, base.stats, messages),
    ...check(`stall run ${run} (one stalled)`, beside.stats, messages),
  ];
  if (!cut) {
    failures.push(`stall run ${run}: the stalled receiver was not cut off`);
  }
  return {
    row: {
      run,
      receivers: subs,
      M: messages,
      "others M msg/s, all reading": round(base.rate / 1e6),
      "s, all reading": round(base.seconds),
      "others M msg/s, one stalled": round(beside.rate / 1e6),
      "s, one stalled": round(beside.seconds),
      "change %": round(changePct, 2),
      "stalled cut": cut,
      "cut logged": cutLogged,
      "stalled MiB read after": round(Number(drained?.bytes ?? 0) / 2 ** 20),
    },
    failures,
  };
}

/** The stalled-receiver workload. */
export const stall: Workload = {
  name: "stall",
  summary: "one receiver stops reading among S: the others' rate, the cut",
  run: (context: BenchContext): Promise<WorkloadResult> =>
    repeatRuns(
      context,
      once,
      (row) => `stall: others ${row["change %"]} %, cut ${row["stalled cut"]}`,
    ),
};
