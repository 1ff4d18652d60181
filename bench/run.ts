/**
 * `deno task bench`: em's own benchmark. Starts emd as a subprocess, runs the workloads in
 * `workloads.ts` with its own Deno load generator, prints a table per workload and writes JSON
 * (bench/results/bench.json unless `--out`). Exit 0 when every run was clean (no loss, no
 * disorder, no unexpected disconnect), 1 otherwise, 64 on bad arguments.
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Emd, type EmdOptions, startEmd } from "./_emd.ts";
import { markdownTable } from "./_table.ts";
import type { BenchContext, BenchOptions, WorkloadResult } from "./workload.ts";
import { WORKLOADS } from "./workloads.ts";

const USAGE = `Usage: deno task bench [OPTIONS]

em's benchmark: emd in its own process, a Deno load generator in others.

Options:
  --quick                 fast smoke run: small sizes, no calibration, 1 run
  --only LIST             workloads to run, comma-separated (default: all)
  --reps N                runs per configuration (default 1)
  --workers N             receiver processes (default: CPU count, at most 4)
  --seconds S             fanout burst length to aim for (default 2.5)
  --subs LIST             fanout receiver counts (default 1,10,100,1000)
  --conns N               idle receivers for conns (default 10000)
  --latency-messages N    latency samples per receiver (default 2000)
  --latency-rate N        latency triggers per second (default 1000)
  --oneshot-runs N        runs per command for one-shot (default 21)
  --oneshot-old-waker     one-shot also times emwait woken the old way (a trigger
                          every setTimeout(1)), beside the exact waker
  --stall-subs N          receivers in the stalled-receiver workload (default 100)
  --stall-seconds S       length of its measured bursts (default 30: three times
                          emd's longest stall verdict)
  --out PATH              JSON file to write (default bench/results/bench.json)
  --profile DIR           run every emd with --cpu-prof, profiles into DIR
  -h, --help

Workloads:
${WORKLOADS.map((w) => `  ${w.name.padEnd(10)} ${w.summary}`).join("\n")}`;

const CONFIG = {
  quick: { type: "boolean" },
  only: { type: "string" },
  reps: { type: "string" },
  workers: { type: "string" },
  seconds: { type: "string" },
  subs: { type: "string" },
  conns: { type: "string" },
  "latency-messages": { type: "string" },
  "latency-rate": { type: "string" },
  "oneshot-runs": { type: "string" },
  "oneshot-old-waker": { type: "boolean" },
  "stall-subs": { type: "string" },
  "stall-seconds": { type: "string" },
  out: { type: "string" },
  profile: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<
  typeof parseArgs<{ options: typeof CONFIG }>
>["values"];

function positive(values: Values, key: keyof Values, fallback: number): number {
  const text = values[key];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`invalid --${key} "${text}": use a positive number`);
  }
  return value;
}

/** Reads the command line into options; throws RangeError on a bad value. */
export function parseOptions(args: string[]): {
  options: BenchOptions;
  only: string[];
  out: string | undefined;
  emd: EmdOptions;
  help: boolean;
} {
  const { values } = parseArgs({ args, options: CONFIG, strict: true });
  const quick = values.quick ?? false;
  const cpus = navigator.hardwareConcurrency ?? 2;
  const subs = values.subs === undefined
    ? (quick ? [1, 10, 100] : [1, 10, 100, 1000])
    : values.subs.split(",").map(Number);
  if (subs.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new RangeError(`invalid --subs "${values.subs}"`);
  }
  const only = values.only === undefined ? [] : values.only.split(",");
  for (const name of only) {
    if (!WORKLOADS.some((w) => w.name === name)) {
      throw new RangeError(`unknown workload "${name}"`);
    }
  }
  return {
    options: {
      quick,
      reps: Math.round(positive(values, "reps", 1)),
      workers: Math.round(
        positive(values, "workers", Math.max(1, Math.min(4, cpus))),
      ),
      idleMs: quick ? 1_000 : 3_000,
      seconds: positive(values, "seconds", 2.5),
      fanoutSubs: subs,
      latencySubs: 10,
      latencyMessages: Math.round(
        positive(values, "latency-messages", quick ? 200 : 2000),
      ),
      latencyRate: positive(values, "latency-rate", 1000),
      conns: Math.round(positive(values, "conns", quick ? 200 : 10_000)),
      oneshotRuns: Math.round(
        positive(values, "oneshot-runs", quick ? 2 : 21),
      ),
      oneshotOldWaker: values["oneshot-old-waker"] ?? false,
      stallSeconds: quick ? 0.1 : positive(values, "stall-seconds", 30),
      stallSubs: Math.max(
        2,
        Math.round(positive(values, "stall-subs", quick ? 10 : 100)),
      ),
    },
    only,
    out: values.out,
    emd: values.profile === undefined
      ? {}
      : { denoFlags: ["--cpu-prof", `--cpu-prof-dir=${values.profile}`] },
    help: values.help ?? false,
  };
}

function progress(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`bench: ${line}\n`));
}

/** Runs the picked workloads; returns the report that is printed and saved. */
export async function runBench(
  options: BenchOptions,
  only: readonly string[],
  emd: EmdOptions = {},
): Promise<Record<string, unknown>> {
  let shared: Emd | undefined;
  const context: BenchContext = {
    options,
    emd: async () => shared ??= await startEmd(emd),
    freshEmd: (emdOptions?: EmdOptions) => startEmd({ ...emd, ...emdOptions }),
    progress,
  };
  const results: Record<string, WorkloadResult & { seconds: number }> = {};
  const failures: string[] = [];
  try {
    for (const workload of WORKLOADS) {
      if (only.length > 0 && !only.includes(workload.name)) continue;
      progress(`${workload.name}…`);
      const started = performance.now();
      let result: WorkloadResult;
      try {
        result = await workload.run(context);
      } catch (error) {
        result = {
          rows: [],
          failures: [`${workload.name}: ${(error as Error).message}`],
        };
      }
      const seconds = Math.round(performance.now() - started) / 1000;
      results[workload.name] = { ...result, seconds };
      failures.push(...result.failures);
    }
  } finally {
    await shared?.stop();
  }
  return {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    cpus: navigator.hardwareConcurrency ?? null,
    options,
    workloads: results,
    failures,
  };
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseOptions(args);
  } catch (error) {
    progress(`${(error as Error).message}\n${USAGE}`);
    return 64;
  }
  if (parsed.help) {
    // deno-lint-ignore no-console
    console.log(USAGE);
    return 0;
  }
  const report = await runBench(parsed.options, parsed.only, parsed.emd);
  const workloads = report.workloads as Record<string, WorkloadResult>;
  for (const [name, result] of Object.entries(workloads)) {
    // deno-lint-ignore no-console
    console.log(`\n## ${name}\n\n${markdownTable(result.rows)}`);
  }
  const failures = report.failures as string[];
  // deno-lint-ignore no-console
  console.log(
    failures.length === 0
      ? "\nclean: no loss, no disorder, no unexpected disconnect"
      : `\nFAILURES:\n${failures.map((f) => `  ${f}`).join("\n")}`,
  );
  const out = parsed.out ??
    fileURLToPath(new URL("./results/bench.json", import.meta.url));
  await Deno.mkdir(out.replace(/[^/]*$/, "") || ".", { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
  progress(`wrote ${out}`);
  return failures.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
