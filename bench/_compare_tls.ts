/**
 * bench:compare's TLS section (issue 17, "TLS done right"): the tls workload of `deno task bench`
 * (two fresh emds, one plain and one with `--tls-cert`, taking turns `reps` times in one run), its
 * table, and the target judged on it: a round trip on an open TLS connection costs at most about
 * 2× a plain one, judged on the median of each turn's ratio (each turn listed).
 * @module
 */
import { startEmd } from "./_emd.ts";
import { markdownTable } from "./_table.ts";
import { parseOptions } from "./run.ts";
import { tls } from "./tls_bench.ts";
import type { BenchContext, Row } from "./workload.ts";

/** Issue 17's TLS round-trip target: at most about 2× plain. */
export const TLS_ROUND_TRIP_TARGET = 2;

/** Runs the tls workload with `reps` turns; returns its markdown section (empty when skipped). */
export async function tlsSection(
  reps: number,
  quick: boolean,
  say: (line: string) => void,
): Promise<string> {
  const { options } = parseOptions([...(quick ? ["--quick"] : [])]);
  const context: BenchContext = {
    options: { ...options, reps },
    emd: () => Promise.reject(new Error("the tls workload starts its own")),
    freshEmd: (emdOptions) => startEmd(emdOptions),
    progress: say,
  };
  const result = await tls.run(context).catch((error: Error) => {
    say(`tls: failed: ${error.message}`); // the other sections still print
    return { rows: [], failures: [] };
  });
  for (const failure of result.failures) say(`tls: ${failure}`);
  const verdict = tlsVerdict(result.rows);
  if (verdict === undefined) return "";
  return [
    `## tls (issue 17), ${reps} turns each`,
    "",
    markdownTable(result.rows),
    "",
    verdict,
  ].join("\n");
}

/**
 * The round-trip target's line from the tls workload's rows: the median of the turns' TLS ÷ plain
 * ratios against {@link TLS_ROUND_TRIP_TARGET}, each turn listed; undefined without a ratio row
 * (skipped: no openssl).
 */
export function tlsVerdict(rows: readonly Row[]): string | undefined {
  const ratio = rows.find((row) => row.transport === "tls ÷ plain");
  const trip = ratio?.["round trip µs"];
  if (typeof trip !== "number") return undefined;
  const met = trip <= TLS_ROUND_TRIP_TARGET ? "yes" : "NO";
  return `TLS round trip ÷ plain, median of the turns' ratios: ${trip} ` +
    `(target ≤ ${TLS_ROUND_TRIP_TARGET}, about): ${met}; each turn: ${
      ratio!["each turn"]
    }`;
}
