/**
 * The targets of issue 17 that the C load generator cannot measure, judged inside `bench:compare`:
 * uncontended lock + unlock against Redis's `SET NX PX` + compare-and-delete (bench/sync_bench.ts,
 * on the comparison's own emd and Redis), and the stall workload (`bench/run.ts --only stall`, a
 * process of its own with its emd, since it needs the Deno receiver workers).
 * @module
 */
import { fileURLToPath } from "node:url";
import { runSyncBench } from "./sync_bench.ts";
import { round, type Row } from "./workload.ts";

const RUN = fileURLToPath(new URL("./run.ts", import.meta.url));
const STALL_TARGET_PCT = 10;

/** What the sync and stall measurements found. */
export interface Judged {
  /** Lock + unlock pairs a second, one client, emd and Redis (undefined: not measured). */
  readonly sync?: { readonly emd: number; readonly redis?: number };
  /**
   * The stall workload's runs: the others' change in % until the stopped receiver's cut (the
   * judged figure), over the whole phase, and whether the run was clean.
   */
  readonly stall?: {
    readonly changes: readonly number[];
    readonly phaseChanges?: readonly number[];
    /** The others' longest stand-still beside the stopped receiver, s, per run. */
    readonly standStills?: readonly number[];
    readonly failures: readonly string[];
    readonly cut: number;
  };
}

/**
 * Lock + unlock of one client on the comparison's emd and Redis, the sides taking turns in rounds
 * of half a second (at least 5): each side's median round, so a burst of load from elsewhere on
 * the machine spoils a round or two of one side, not the verdict.
 */
export async function measureSync(
  ports: { emd: number; redis?: number },
  seconds: number,
  say: (line: string) => void,
): Promise<Judged["sync"]> {
  const { rows } = await runSyncBench(ports, {
    seconds,
    rounds: Math.max(5, Math.round(seconds * 2)),
    clients: 10,
    say,
    uncontendedOnly: true,
  });
  const row = rows[0]!;
  return {
    emd: row.emd as number,
    ...(typeof row.redis === "number" ? { redis: row.redis } : {}),
  };
}

/** `reps` runs of the stall workload (`bench/run.ts --only stall`), in a process of its own. */
export async function measureStall(
  reps: number,
  quick: boolean,
  say: (line: string) => void,
): Promise<Judged["stall"]> {
  const dir = await Deno.makeTempDir({ prefix: "em_compare_stall_" });
  try {
    const out = `${dir}/stall.json`;
    const args = [
      "run",
      "-A",
      RUN,
      "--only",
      "stall",
      "--reps",
      String(reps),
      "--out",
      out,
    ];
    if (quick) args.push("--quick");
    say(`stall: deno ${args.join(" ")}`);
    const { stderr } = await new Deno.Command(Deno.execPath(), {
      args,
      stdout: "null",
      stderr: "piped",
    }).output();
    let report;
    try {
      report = JSON.parse(await Deno.readTextFile(out));
    } catch {
      say(`stall: no report: ${new TextDecoder().decode(stderr).trim()}`);
      return undefined;
    }
    const rows = (report.workloads?.stall?.rows ?? []) as Row[];
    return {
      changes: rows.map((row) => Number(row["change %"])),
      phaseChanges: rows.map((row) => Number(row["change % over the phase"])),
      standStills: rows.map((row) =>
        Number(row["longest stand-still s, one stalled"])
      ),
      failures: (report.failures ?? []) as string[],
      cut: rows.filter((row) => row["stalled cut"] === true).length,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** One row per judged figure, with the target and whether it was met. */
export function judgedRows({ sync, stall }: Judged): Row[] {
  const rows: Row[] = [];
  if (sync !== undefined) {
    const ratio = sync.redis === undefined
      ? null
      : round(sync.emd / sync.redis, 3);
    rows.push({
      figure: "lock + unlock, 1 client, pairs/s (bench/sync_bench.ts)",
      emd: round(sync.emd),
      Redis: sync.redis === undefined ? null : round(sync.redis),
      "emd/Redis": ratio,
      target: "≥ Redis's SET NX PX + compare-and-delete",
      met: ratio === null ? null : ratio >= 1 ? "yes" : "no",
    });
  }
  if (stall !== undefined && stall.changes.length > 0) {
    const change = median(stall.changes);
    const clean = stall.failures.length === 0 &&
      stall.cut === stall.changes.length;
    rows.push({
      figure:
        `stall: the others' rate beside a stopped receiver until it is cut, change % (median of ${stall.changes.length}: ${
          stall.changes.join(", ")
        }${
          stall.phaseChanges
            ? `; over the whole phase: ${stall.phaseChanges.join(", ")}`
            : ""
        }${
          stall.standStills
            ? `; the others' longest stand-still, s: ${
              stall.standStills.join(", ")
            }`
            : ""
        })`,
      emd: change,
      Redis: null,
      "emd/Redis": null,
      target:
        `within ±${STALL_TARGET_PCT} %, the stopped one cut, no reading one cut`,
      met: Math.abs(change) <= STALL_TARGET_PCT && clean ? "yes" : "no",
    });
    for (const failure of stall.failures) {
      rows.push({
        figure: `stall failure: ${failure}`,
        emd: null,
        Redis: null,
        "emd/Redis": null,
        target: "",
        met: "no",
      });
    }
  }
  return rows;
}
