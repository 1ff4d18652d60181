/**
 * What a benchmark workload is, and what it gets from `run.ts`. A new workload is one file that
 * exports a {@link Workload}, added to the list in `workloads.ts`.
 * @module
 */
import type { Emd, EmdOptions } from "./_emd.ts";

/** Sizes and switches from the command line, shared by every workload. */
export interface BenchOptions {
  /** A fast smoke run: small sizes, one repetition, no calibration. */
  readonly quick: boolean;
  /** Repetitions of each measured configuration. */
  readonly reps: number;
  /** Receiver worker processes where one process would be the bottleneck. */
  readonly workers: number;
  /** A burst ends this long after its last delivery; what has not arrived counts as lost. */
  readonly idleMs: number;
  /** Target length of one fanout burst in seconds (M is calibrated from a pilot burst). */
  readonly seconds: number;
  /** Receiver counts for fanout. */
  readonly fanoutSubs: readonly number[];
  /** Receivers, messages and messages per second for latency. */
  readonly latencySubs: number;
  readonly latencyMessages: number;
  readonly latencyRate: number;
  /** Idle receivers for conns. */
  readonly conns: number;
  /** Runs per command for one-shot. */
  readonly oneshotRuns: number;
  /** One-shot also times emwait woken by the old 1 ms trigger loop (an A/B of the wakers). */
  readonly oneshotOldWaker?: boolean;
  /** Receivers for the stalled-receiver workload (one of them stalls). */
  readonly stallSubs: number;
  /** How long its measured bursts should last (at least 8 MiB per receiver either way). */
  readonly stallSeconds: number;
}

/** One row of a workload's table: column name → value (null: not measured here). */
export type Row = Record<string, string | number | boolean | null>;

/** What a workload reports. */
export interface WorkloadResult {
  /** The table rows, one per measured configuration. */
  readonly rows: Row[];
  /** Broken promises (loss, disorder, disconnects, errors); empty when the run was clean. */
  readonly failures: string[];
}

/** What `run.ts` hands every workload. */
export interface BenchContext {
  readonly options: BenchOptions;
  /** The shared emd of this run, started on first use. */
  emd(): Promise<Emd>;
  /** A fresh emd of the caller's own (the caller stops it). */
  freshEmd(options?: EmdOptions): Promise<Emd>;
  /** A progress line on stderr. */
  progress(line: string): void;
}

/** A named benchmark workload. */
export interface Workload {
  /** Its name on the command line (`--only NAME`) and in the JSON. */
  readonly name: string;
  /** One line for `--help`. */
  readonly summary: string;
  run(context: BenchContext): Promise<WorkloadResult>;
}

/** `value` rounded to `digits` significant digits (for tables). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(digits));
}

/** The nearest-rank percentile `p` (0–100) of sorted `values`. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** What one run of a workload measured. */
export interface RunResult {
  readonly row: Row;
  readonly failures: string[];
}

/**
 * Runs `once` `context.options.reps` times (run numbers from 1), with a progress line from
 * `describe` after each, and gathers rows and failures.
 */
export async function repeatRuns(
  context: BenchContext,
  once: (context: BenchContext, run: number) => Promise<RunResult>,
  describe: (row: Row) => string,
): Promise<WorkloadResult> {
  const rows: Row[] = [];
  const failures: string[] = [];
  for (let run = 1; run <= context.options.reps; run++) {
    const result = await once(context, run);
    context.progress(`${describe(result.row)} (run ${run})`);
    rows.push(result.row);
    failures.push(...result.failures);
  }
  return { rows, failures };
}
