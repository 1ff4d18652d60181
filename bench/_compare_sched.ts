/**
 * How long each server waited for a CPU during its latency runs: Linux's per-thread scheduler
 * statistics (`/proc/PID/task/TID/schedstat`: time on a CPU, time runnable but waiting in the run
 * queue, and the number of times it was put on a CPU), summed over the server's threads, read
 * before and after each run. On this shared 2-core machine the latency tail is mostly such waits
 * (docs/PERFORMANCE.md, "Issue 17, fourth session"): printed beside each round's p99, they say
 * whether a round measured the server or the machine. Elsewhere every reading is `undefined`.
 * @module
 */
import { round, type Row } from "./workload.ts";
import type { ResultLine } from "./_yardstick.ts";

/** A process's scheduling so far, summed over its threads. */
export interface SchedStat {
  /** Nanoseconds on a CPU. */
  readonly runNs: number;
  /** Nanoseconds runnable but waiting for a CPU (the run queue). */
  readonly waitNs: number;
  /** Times a thread was put on a CPU. */
  readonly slices: number;
}

/**
 * {@link SchedStat} of process `pid` (all its threads), or undefined without /proc (or without
 * the permission: Deno reads /proc of its own and its children's processes only with
 * `--allow-all`). `proc` is where procfs is mounted.
 */
export function schedStat(
  pid: number | "self",
  proc = "/proc",
): SchedStat | undefined {
  let tids: string[];
  try {
    tids = [...Deno.readDirSync(`${proc}/${pid}/task`)].map((entry) =>
      entry.name
    );
  } catch {
    return undefined;
  }
  let runNs = 0, waitNs = 0, slices = 0, read = 0;
  for (const tid of tids) {
    let text: string;
    try {
      text = Deno.readTextFileSync(`${proc}/${pid}/task/${tid}/schedstat`);
    } catch {
      continue; // the thread ended meanwhile
    }
    const [run, wait, count] = text.trim().split(/\s+/).map(Number);
    if (![run, wait, count].every(Number.isFinite)) continue;
    runNs += run!;
    waitNs += wait!;
    slices += count!;
    read++;
  }
  return read === 0 ? undefined : { runNs, waitNs, slices };
}

/** What happened between two readings of the same process. */
export function schedDelta(before: SchedStat, after: SchedStat): SchedStat {
  return {
    runNs: after.runNs - before.runNs,
    waitNs: after.waitNs - before.waitNs,
    slices: after.slices - before.slices,
  };
}

/** One server's latency run with its scheduling. */
export interface SchedRun {
  readonly label: string;
  readonly round: number;
  readonly result: ResultLine;
  /** Over the whole run (connecting and probing included), or undefined without /proc. */
  readonly sched?: SchedStat;
}

/**
 * One row per latency run, in round order: the p99 and p99.9 the load generator saw, and the time
 * the server spent on a CPU and waiting for one.
 */
export function schedRows(runs: readonly SchedRun[]): Row[] {
  const ms = (ns: number) => round(ns / 1e6, 3);
  return [...runs].sort((a, b) => a.round - b.round).map((run) => {
    const s = run.sched;
    const number = (field: string) =>
      typeof run.result[field] === "number"
        ? run.result[field] as number
        : null;
    return {
      round: run.round,
      server: run.label,
      "p99 µs": number("p99_us"),
      "p99.9 µs": number("p999_us"),
      "on a CPU, ms": s === undefined ? null : ms(s.runNs),
      "waiting for a CPU, ms": s === undefined ? null : ms(s.waitNs),
      "times put on a CPU": s === undefined ? null : s.slices,
      "wait µs per time": s === undefined || s.slices === 0
        ? null
        : round(s.waitNs / s.slices / 1000, 3),
    };
  });
}
