/**
 * bench:compare's cluster section (issue 15): the cluster workload of `deno task bench` (3 emd
 * nodes over 3 nats-servers, one emd, raw NATS, all in one run) `reps` times, each row's median
 * and every run's value, beside the targets.
 * @module
 */
import { cluster } from "./cluster_bench.ts";
import { parseOptions } from "./run.ts";
import { markdownTable } from "./_table.ts";
import type { BenchContext, Row } from "./workload.ts";

/** Issue 15's targets, by the start of the cluster workload's measure. */
const TARGETS: readonly [string, string][] = [
  ["messages/s reaching each node, one receiver", "≥ 0.8× raw NATS"],
  ["messages/s reaching each node: em", "≥ 0.8× raw NATS"],
  ["messages/s reaching each receiver, the same shape", "≥ 0.8× raw NATS"],
  ["kill -9 of a node", "≤ 30000 ms (aim: a few s)"],
];

/** Runs the cluster workload `reps` times; returns its markdown section (empty without nats-server). */
export async function clusterSection(
  reps: number,
  say: (line: string) => void,
): Promise<string> {
  const context: BenchContext = {
    options: parseOptions([]).options,
    emd: () => Promise.reject(new Error("the cluster workload starts its own")),
    freshEmd: () =>
      Promise.reject(new Error("the cluster workload starts its own")),
    progress: say,
  };
  const runs: Row[][] = [];
  for (let rep = 0; rep < reps; rep++) {
    const result = await cluster.run(context).catch((error: Error) => {
      say(`cluster: run ${rep + 1} failed: ${error.message}`); // the other sections still print
      return { rows: [], failures: [] };
    });
    if (result.rows.length === 0) continue;
    for (const failure of result.failures) say(`cluster: ${failure}`);
    runs.push(result.rows);
  }
  if (runs.length === 0) return "";
  const key = (row: Row) => String(row.measure).split(" (runs:")[0] ?? ""; // the A/B lists its runs
  const rows = runs[0]!.map((row) => {
    const same = runs.map((rows) => rows.find((r) => key(r) === key(row)));
    const ratios = same.map((r) => r?.ratio)
      .filter((ratio): ratio is number => typeof ratio === "number");
    const values = same.map((r) => r?.["3 nodes"])
      .filter((value): value is number => typeof value === "number");
    const measure = key(row);
    return {
      measure,
      "3 nodes (median)": median(values),
      "ratio (median)": ratios.length ? median(ratios) : null,
      "ratios of each run": ratios.join(", ") || "–",
      target: TARGETS.find(([start]) => measure.startsWith(start))?.[1] ?? "–",
    };
  });
  return [
    `## cluster (issue 15), ${reps} runs, medians`,
    "",
    markdownTable(rows),
  ].join("\n");
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
