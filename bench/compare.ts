/**
 * `deno run -A bench/compare.ts`: the same workloads, with the yardstick's C load generator,
 * against emd, emd_ref and Redis back to back in one run (all three servers run side by side;
 * each configuration is measured on the three in turn), then one-shot wall times with `wallrun`.
 * The conns and latency workloads also run against Deno's floor (bench/_floor_server.ts), printed
 * beside: what any Deno server pays (judged ratios stay emd/emd_ref and emd/Redis).
 * Prints the ratios emd/emd_ref and emd/Redis with issue 17's targets, then the targets the load
 * generator cannot measure (lock + unlock against Redis, the stall workload: _compare_judged.ts),
 * and saves raw lines and tables under bench/results/compare/. Needs the yardstick (`../shared/bench`, or
 * `--yardstick PATH`), gcc, and redis-server (installed with apt-get when missing and allowed).
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  buildYardstick,
  emdRefTarget,
  emdTarget,
  ensureRedis,
  findYardstick,
  floorTarget,
  loadgen,
  redisTarget,
  type Target,
  versions,
} from "./_yardstick.ts";
import {
  cleanlinessRows,
  compareRows,
  fanoutCpuRows,
  type Measured,
  type OneShot,
  oneShotRows,
} from "./_compare_table.ts";
import { markdownTable } from "./_table.ts";
import { pause } from "./_deadline.ts";
import { spawnShots, wallrunShots } from "./_compare_oneshot.ts";
import { tlsSection } from "./_compare_tls.ts";
import { clusterSection } from "./_compare_cluster.ts";
import {
  schedDelta,
  schedRows,
  type SchedRun,
  schedStat,
} from "./_compare_sched.ts";
import {
  type Judged,
  judgedRows,
  measureStall,
  measureSync,
} from "./_compare_judged.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const FLOOR = "deno_floor";
const USAGE = `Usage: deno run -A bench/compare.ts [OPTIONS]

Runs the yardstick's C load generator against emd, emd_ref and Redis back to back.

Options:
  --yardstick PATH   the yardstick folder (default: ../shared/bench from the repository)
  --only LIST        fanout,latency,conns,oneshot,sync,stall,cluster,tls (default: all;
                     cluster: deno task bench's cluster workload, needs nats-server;
                     tls: its tls workload, --reps turns, TLS round trip ≤ 2× plain)
  --reps N           rounds per configuration (default 5 for fanout and latency,
                     1 for conns); in each round every server runs once, in
                     turn, the order rotating from round to round; a row's
                     ratio is the median of the per-round ratios
  --subs LIST        fanout receiver counts (default 1,10,100,1000)
  --conns LIST       conns connection counts (default 10000)
  --seconds S        fanout run length to calibrate for (default 2.5)
  --oneshot-runs N   wallrun runs per command (default 21)
  --stall-reps N     runs of the stall workload (default 3)
  --no-redis         leave Redis out (no apt-get)
  --quick            small sizes: subs 1,10; conns 1000; 0.5 s runs; 5 one-shot runs;
                     sync 2 s; one quick stall run
  --out DIR          where raw lines and tables go (default bench/results/compare)
  -h, --help`;

interface Settings {
  yardstick: string;
  only: string[];
  /** Rounds of the fanout and latency configurations. */
  reps: number;
  /** Rounds of the other workloads (conns: each run restarts every server; cluster). */
  otherReps: number;
  subs: number[];
  conns: number[];
  seconds: number;
  oneshotRuns: number;
  stallReps: number;
  quick: boolean;
  redis: boolean;
  out: string;
}

const raw: string[] = [];
/** Every latency run with the server's scheduling during it. */
const latencySched: SchedRun[] = [];
function say(line: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`compare: ${line}\n`));
}

function settings(args: string[]): Settings | number {
  const { values } = parseArgs({
    args,
    options: {
      yardstick: { type: "string" },
      only: { type: "string" },
      reps: { type: "string" },
      subs: { type: "string" },
      conns: { type: "string" },
      seconds: { type: "string" },
      "oneshot-runs": { type: "string" },
      "stall-reps": { type: "string" },
      "no-redis": { type: "boolean" },
      quick: { type: "boolean" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return 0;
  const quick = values.quick ?? false;
  const list = (text: string | undefined, fallback: number[]) =>
    text === undefined ? fallback : text.split(",").map(Number);
  const yardstick = findYardstick(values.yardstick);
  if (yardstick === undefined) {
    say(
      `no yardstick (loadgen.c) at ${
        values.yardstick ?? "../shared/bench"
      }: pass --yardstick PATH`,
    );
    return 1;
  }
  return {
    yardstick,
    only: values.only?.split(",") ??
      [
        "fanout",
        "latency",
        "conns",
        "oneshot",
        "sync",
        "stall",
        "cluster",
        "tls",
      ],
    reps: Number(values.reps ?? (quick ? 1 : 5)),
    otherReps: Number(values.reps ?? 1),
    subs: list(values.subs, quick ? [1, 10] : [1, 10, 100, 1000]),
    conns: list(values.conns, quick ? [1000] : [10_000]),
    seconds: Number(values.seconds ?? (quick ? 0.5 : 2.5)),
    oneshotRuns: Number(values["oneshot-runs"] ?? (quick ? 5 : 21)),
    stallReps: Number(values["stall-reps"] ?? (quick ? 1 : 3)),
    quick,
    redis: !values["no-redis"],
    out: values.out ?? `${REPO}bench/results/compare`,
  };
}

/** Pilot runs (not recorded), as the yardstick's run.sh does: M for about `seconds`. */
async function calibrate(
  build: string,
  target: Target,
  subs: number,
  seconds: number,
): Promise<number> {
  let messages = Math.max(100, Math.round(200_000 / subs));
  for (let pilot = 0; pilot < 4; pilot++) {
    const { result } = await loadgen(build, target, [
      "fanout",
      "-s",
      String(subs),
      "-m",
      String(messages),
      "-T",
      "60",
    ]);
    if (result === undefined) return 0;
    const secs = Number(result.secs);
    if (secs >= 0.3 || pilot === 3) {
      const m = Math.round(Number(result.rate) * seconds / subs);
      return Math.min(200_000_000, Math.max(100, m));
    }
    messages = Math.round(messages * Math.min(50, Math.max(2, 0.6 / secs)));
  }
  return messages;
}

/** `targets` starting at the `round`th one: each server goes first in turn. */
export function rotated<T>(targets: readonly T[], round: number): T[] {
  const start = targets.length === 0 ? 0 : round % targets.length;
  return [...targets.slice(start), ...targets.slice(0, start)];
}

async function measure(
  build: string,
  target: Target,
  workload: Measured["workload"],
  size: number,
  args: string[],
  round: number,
): Promise<Measured[]> {
  const { result, raw: line, stderr } = await loadgen(build, target, args);
  if (result === undefined) {
    say(`${workload} ${size} on ${target.label}: no result ${stderr}`);
    raw.push(`# no result: ${target.label} ${args.join(" ")}: ${stderr}`);
    return [];
  }
  raw.push(line);
  say(`${target.label} ${workload} ${size}: ${line.slice(0, 160)}`);
  return [{ workload, size, label: target.label, result, round }];
}

/**
 * Each configuration in rounds: every target once per round, in turn (the order rotating), so a
 * round's figures are seconds apart and its ratios compare like with like.
 */
async function fanoutRuns(
  s: Settings,
  build: string,
  targets: Target[],
): Promise<Measured[]> {
  const all: Measured[] = [];
  for (const subs of s.subs) {
    const ms = new Map<Target, number>();
    for (const t of targets) {
      ms.set(t, await calibrate(build, t, subs, s.seconds));
    }
    for (let rep = 1; rep <= s.reps; rep++) {
      for (const t of rotated(targets, rep - 1)) {
        const m = String(ms.get(t));
        all.push(
          ...await measure(build, t, "fanout", subs, [
            "fanout",
            ...["-s", String(subs), "-m", m, "-r", String(rep), "-T", "60"],
          ], rep),
        );
      }
    }
  }
  return all;
}

async function latencyRuns(
  s: Settings,
  build: string,
  targets: Target[],
): Promise<Measured[]> {
  const all: Measured[] = [];
  for (let rep = 1; rep <= s.reps; rep++) {
    for (const t of rotated(targets, rep - 1)) {
      const before = schedStat(t.pid);
      const runs = await measure(build, t, "latency", 10, [
        "latency",
        ...["-s", "10", "-m", "2000", "-i", "1000", "-r", String(rep)],
      ], rep);
      const after = schedStat(t.pid);
      for (const run of runs) {
        latencySched.push({
          label: t.label,
          round: rep,
          result: run.result,
          ...(before && after ? { sched: schedDelta(before, after) } : {}),
        });
      }
      all.push(...runs);
    }
  }
  return all;
}

async function connsRuns(
  s: Settings,
  build: string,
  targets: Target[],
): Promise<Measured[]> {
  const all: Measured[] = [];
  for (const n of s.conns) {
    for (let rep = 1; rep <= s.otherReps; rep++) {
      for (const t of rotated(targets, rep - 1)) {
        await t.restart(); // fresh memory for every conns run, as the yardstick does
        await pause(500);
        all.push(
          ...await measure(build, t, "conns", n, [
            "conns",
            ...["-s", String(n), "-r", String(rep), "-T", "90"],
          ], rep),
        );
      }
    }
  }
  return all;
}

async function loadgenWorkloads(
  s: Settings,
  build: string,
  targets: Target[],
): Promise<Measured[]> {
  const all: Measured[] = [];
  const servers = targets.filter((t) => t.label !== FLOOR); // the floor: conns and latency
  const floor = targets.filter((t) => t.label === FLOOR);
  if (s.only.includes("fanout")) {
    all.push(...await fanoutRuns(s, build, servers));
  }
  if (s.only.includes("latency")) {
    all.push(...await latencyRuns(s, build, [...servers, ...floor]));
  }
  if (s.only.includes("conns")) {
    all.push(...await connsRuns(s, build, targets));
  }
  return all;
}

async function startTargets(
  s: Settings,
  build: string,
  stateDir: string,
): Promise<Target[]> {
  const targets: Target[] = [];
  try {
    targets.push(await emdTarget());
    targets.push(await emdRefTarget(build));
    if (s.redis && await ensureRedis(say)) {
      targets.push(await redisTarget(stateDir));
    }
    if (s.only.includes("conns") || s.only.includes("latency")) {
      targets.push(await floorTarget());
    }
  } catch (error) {
    await Promise.allSettled(targets.map((t) => t.stop()));
    throw error;
  }
  return targets;
}

async function main(args: string[]): Promise<number> {
  let s: Settings | number;
  try {
    s = settings(args);
  } catch (error) {
    say(`${(error as Error).message}\n${USAGE}`);
    return 64;
  }
  if (typeof s === "number") {
    if (s === 0) say(USAGE);
    return s;
  }
  const build = await Deno.makeTempDir({ prefix: "em_yardstick_" });
  try {
    const started = new Date();
    say(`building the yardstick from ${s.yardstick} into ${build}`);
    await buildYardstick(s.yardstick, build);
    const results = await runAll(s, build);
    if (s.only.includes("cluster")) { // after the others: its 7 processes are stopped by then
      results.cluster = await clusterSection(Math.max(s.otherReps, 3), say);
    }
    if (s.only.includes("tls")) { // fresh emds of its own, one plain and one TLS
      results.tls = await tlsSection(s.reps, s.quick, say);
    }
    await report(s, `${started.toISOString()}`, args, results);
    return 0;
  } finally {
    await Deno.remove(build, { recursive: true });
  }
}

interface Results {
  header: string[];
  measured: Measured[];
  shots: OneShot[];
  judged: Judged;
  /** The cluster section (markdown), empty when not run. */
  cluster: string;
  /** The TLS section (markdown), empty when not run. */
  tls: string;
}

async function runAll(s: Settings, build: string): Promise<Results> {
  const targets = await startTargets(s, build, build);
  try {
    const header = await versions();
    say(`targets: ${targets.map((t) => `${t.label}:${t.port}`).join(", ")}`);
    const measured = await loadgenWorkloads(s, build, targets);
    const shots: OneShot[] = [];
    if (s.only.includes("oneshot")) {
      const [emd, ref, redis] = targets.filter((t) => t.label !== FLOOR) as [
        Target,
        Target,
        Target?,
      ];
      const setup = {
        build,
        yardstick: s.yardstick,
        runs: s.oneshotRuns,
        emd,
        ref,
        redis,
        record: (line: string) => raw.push(line),
        say,
      };
      shots.push(...await wallrunShots(setup), ...await spawnShots(setup));
    }
    const judged = await judgedWorkloads(s, targets);
    return { header, measured, shots, judged, cluster: "", tls: "" };
  } finally {
    await Promise.allSettled(targets.map((t) => t.stop()));
  }
}

async function judgedWorkloads(
  s: Settings,
  targets: Target[],
): Promise<Judged> {
  const emd = targets.find((t) => t.label === "emd")!;
  const redis = targets.find((t) => t.label === "redis");
  const sync = s.only.includes("sync")
    ? await measureSync(
      { emd: emd.port, ...(redis === undefined ? {} : { redis: redis.port }) },
      s.quick ? 2 : 10,
      say,
    )
    : undefined;
  const stall = s.only.includes("stall")
    ? await measureStall(s.stallReps, s.quick, say)
    : undefined;
  return {
    ...(sync === undefined ? {} : { sync }),
    ...(stall === undefined ? {} : { stall }),
  };
}

async function report(
  s: Settings,
  started: string,
  args: string[],
  { header, measured, shots, judged, cluster, tls }: Results,
): Promise<void> {
  const judgedTable = judgedRows(judged);
  const text = [
    `# emd vs emd_ref vs Redis, one run (${started})`,
    "",
    "```",
    `deno run -A bench/compare.ts ${args.join(" ")}`.trim(),
    ...header,
    "```",
    "",
    ...(measured.length > 0
      ? [
        markdownTable(compareRows(measured)),
        "",
        ...(fanoutCpuRows(measured).length > 0
          ? [markdownTable(fanoutCpuRows(measured)), ""]
          : []),
        markdownTable(cleanlinessRows(measured)),
        "",
        ...(latencySched.length > 0
          ? [
            "Latency runs: each server's time on a CPU and waiting for one (run queue, " +
            "/proc/PID/schedstat, all threads, the whole run):",
            "",
            markdownTable(schedRows(latencySched)),
            "",
          ]
          : []),
      ]
      : []),
    shots.length > 0 ? markdownTable(oneShotRows(shots)) : "",
    "",
    judgedTable.length > 0 ? markdownTable(judgedTable) : "",
    cluster,
    tls,
  ].join("\n");
  // deno-lint-ignore no-console
  console.log(text);
  await Deno.mkdir(s.out, { recursive: true });
  await Deno.writeTextFile(`${s.out}/table.md`, text + "\n");
  await Deno.writeTextFile(`${s.out}/raw.txt`, raw.join("\n") + "\n");
  await Deno.writeTextFile(
    `${s.out}/compare.json`,
    JSON.stringify({ header, measured, shots, judged, latencySched }, null, 2) +
      "\n",
  );
  say(`wrote ${s.out}/table.md, raw.txt, compare.json`);
}

if (import.meta.main) Deno.exitCode = await main(Deno.args);
