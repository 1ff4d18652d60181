/**
 * stall: S receivers (100 by default) in worker processes. S − 1 of them take a burst alone for
 * their base rate; then one more receiver, in a process of its own, joins and stops reading, and a
 * second burst gives the others' rate beside it. emd must cut the stalled one off at its output
 * limit without slowing the others: the change in % while it is beside them (from the burst's
 * start until it is cut) is the figure, and the cut is checked.
 * @module
 */
import { pause } from "./_deadline.ts";
import { Publisher } from "./_publisher.ts";
import { WorkerPool } from "./_pool.ts";
import type { PhaseStats } from "./_receivers.ts";
import { epochMs, rssKb } from "./_proc.ts";
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
const DEADLINE_MS = 120_000;
/**
 * How long the others may see nothing before the rest of a burst counts as lost: longer than
 * emd's longest stall verdict (10 s, `MAX_STALL_MS`), during which the senders may be held back.
 */
const IDLE_MS = 12_000;
/** How often the others' deliveries are counted while a burst is sent. */
const SAMPLE_MS = 250;

/** The others' deliveries `seconds` after the burst's start. */
interface Sample {
  readonly seconds: number;
  readonly deliveries: number;
}

interface Phase {
  readonly stats: PhaseStats;
  /** Deliveries per second over the whole phase. */
  readonly rate: number;
  readonly seconds: number;
  readonly samples: readonly Sample[];
  /** The sample taken once the stalled receiver's cut was seen, if that was before the burst ended. */
  readonly atCut?: Sample;
  /** emd's largest RSS seen while the burst was sent, in KB (0: not known). */
  readonly rssKb: number;
}

async function phase(
  emdPid: number,
  others: WorkerPool,
  stalled: WorkerPool | undefined,
  publisher: Publisher,
  messages: number,
  idleMs: number,
  cutSeen?: () => boolean,
): Promise<Phase> {
  await Promise.all([
    others.ask({ cmd: "phase", messages }, 10_000),
    stalled?.ask({ cmd: "stall" }, 10_000),
  ]);
  const startedMs = epochMs();
  let sent = false;
  const sending = publisher.burst(messages, PAD).finally(() => sent = true);
  const samples: Sample[] = [];
  let atCut: Sample | undefined;
  let rss = 0;
  while (!sent) {
    await Promise.race([pause(SAMPLE_MS), sending]);
    if (sent) break;
    const cut = cutSeen?.() ?? false;
    rss = Math.max(rss, rssKb(emdPid) ?? 0);
    const { deliveries } = await others.stats();
    samples.push({ seconds: (epochMs() - startedMs) / 1000, deliveries });
    if (cut && atCut === undefined) atCut = samples.at(-1);
  }
  const started = await sending;
  const stats = await others.finish(idleMs, DEADLINE_MS);
  const seconds = Math.max(stats.lastMs - started, 1) / 1000;
  return {
    stats,
    rate: stats.deliveries / seconds,
    seconds,
    samples,
    ...(atCut && { atCut }),
    rssKb: rss,
  };
}

/** Deliveries per second over the first `seconds` of a phase (interpolated between samples). */
function rateOver(phase: Phase, seconds: number): number {
  let before: Sample = { seconds: 0, deliveries: 0 };
  for (const sample of phase.samples) {
    if (sample.seconds >= seconds) {
      const share = (seconds - before.seconds) /
        Math.max(sample.seconds - before.seconds, 1e-9);
      const deliveries = before.deliveries +
        share * (sample.deliveries - before.deliveries);
      return deliveries / seconds;
    }
    before = sample;
  }
  return phase.rate; // the phase was shorter: its whole rate
}

/**
 * The longest time, in s, the others got nothing while the burst was sent (between samples that
 * show no new delivery): a pause of the senders shows here even when rates are noisy.
 */
function standStill(phase: Phase): number {
  let longest = 0, since = 0, before: Sample = { seconds: 0, deliveries: 0 };
  for (const sample of phase.samples) {
    if (sample.deliveries > before.deliveries) since = sample.seconds;
    else longest = Math.max(longest, sample.seconds - since);
    before = sample;
  }
  return longest;
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
  const warm = await phase(
    emd.pid,
    others,
    undefined,
    publisher,
    least,
    idleMs,
  ); // not counted
  // Sized by time (--stall-seconds, 30 by default), not bytes: the phase must outlast emd's
  // longest stall verdict (10 s) by far, so that the stopped receiver is cut while the burst is
  // still flowing; a burst that ended first would hide a pause in the socket buffers, or (ending
  // during it) make the pause the whole phase.
  const perReceiverPerSecond = warm.rate / (subs - 1);
  const messages = Math.max(
    least,
    Math.round(perReceiverPerSecond * context.options.stallSeconds),
  );
  const base = await phase(
    emd.pid,
    others,
    undefined,
    publisher,
    messages,
    idleMs,
  );
  // The base burst's rate is the better guess (the warm-up's is often lower: start-up, a busy
  // machine): the burst beside the stopped receiver is sized by it, to last --stall-seconds too.
  const besideMessages = Math.max(
    messages,
    Math.round(base.rate / (subs - 1) * context.options.stallSeconds),
  );
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
  const beside = await phase(
    emd.pid,
    others,
    stalled,
    publisher,
    besideMessages,
    idleMs,
    cutLog,
  );
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
  // The figure: the others' rate while the stopped receiver is beside them (from the burst's
  // start until its cut), against their rate over the same seconds of the base burst.
  const untilCut = beside.atCut;
  const baseSame = untilCut && rateOver(base, untilCut.seconds);
  const besideUntilCut = untilCut && untilCut.deliveries / untilCut.seconds;
  const changePct = untilCut
    ? (besideUntilCut! / baseSame! - 1) * 100
    : (beside.rate / base.rate - 1) * 100;
  const phasePct = (beside.rate / base.rate - 1) * 100;
  const failures = [
    ...check(`stall run ${run} (warm-up)`, warm.stats, least),
    ...check(`stall run ${run} (all reading)`, base.stats, messages),
    ...check(`stall run ${run} (one stalled)`, beside.stats, besideMessages),
  ];
  if (!cut) {
    failures.push(`stall run ${run}: the stalled receiver was not cut off`);
  } else if (untilCut === undefined && !context.options.quick) {
    failures.push(
      `stall run ${run}: the stalled receiver was cut only after the burst (${
        round(beside.seconds)
      } s): raise --stall-seconds`,
    );
  }
  return {
    row: {
      run,
      receivers: subs,
      M: messages,
      "M beside": besideMessages,
      "others M msg/s, all reading": round(base.rate / 1e6),
      "s, all reading": round(base.seconds),
      "s until cut": untilCut ? round(untilCut.seconds) : "–",
      "all reading, same s, M msg/s": baseSame ? round(baseSame / 1e6) : "–",
      "until cut, M msg/s": besideUntilCut ? round(besideUntilCut / 1e6) : "–",
      "change %": round(changePct, 2),
      "longest stand-still s, all reading": round(standStill(base)),
      "longest stand-still s, one stalled": round(standStill(beside)),
      "others M msg/s, one stalled": round(beside.rate / 1e6),
      "s, one stalled": round(beside.seconds),
      "change % over the phase": round(phasePct, 2),
      "emd MiB RSS max, all reading": round(base.rssKb / 1024),
      "emd MiB RSS max, one stalled": round(beside.rssKb / 1024),
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
  summary:
    "one receiver stops reading among S: the others' rate until it is cut",
  run: (context: BenchContext): Promise<WorkloadResult> =>
    repeatRuns(
      context,
      once,
      (row) =>
        `stall: others ${row["change %"]} % until the cut (${
          row["s until cut"]
        } s), ${row["change % over the phase"]} % over the phase, cut ${
          row["stalled cut"]
        }`,
    ),
};
