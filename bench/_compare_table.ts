/**
 * The comparison's summary: per workload one row with emd's, emd_ref's and Redis's figures
 * (medians over the runs), the ratios emd/emd_ref and emd/Redis, and issue 17's target for it;
 * conns and latency rows also show Deno's floor (a bare Deno server, bench/_floor_server.ts) and
 * emd/floor.
 *
 * A ratio is the median of per-round ratios: the servers take turns within a round (seconds
 * apart), so a round's ratio compares like with like even when the shared machine's speed drifts
 * between rounds; each row's judged ratio is printed for every round, with its spread.
 * @module
 */
import type { ResultLine } from "./_yardstick.ts";
import { percentile, round, type Row } from "./workload.ts";

/** A RESULT record with the target and configuration it belongs to. */
export interface Measured {
  readonly workload: "fanout" | "latency" | "conns";
  /** S for fanout, N for conns, 10 for latency. */
  readonly size: number;
  readonly label: string;
  readonly result: ResultLine;
  /** The round it belongs to (the servers' runs of one round are seconds apart). @default result.run */
  readonly round?: number;
}

/** One-shot figures, wall ms medians. */
export interface OneShot {
  readonly label: string;
  readonly median: number;
  readonly min: number;
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  return percentile([...values].sort((a, b) => a - b), 50);
}

function figure(
  all: readonly Measured[],
  workload: Measured["workload"],
  size: number,
  label: string,
  field: string,
  scale = 1,
): number | undefined {
  const values = all
    .filter((m) =>
      m.workload === workload && m.size === size && m.label === label
    )
    .map((m) => m.result[field])
    .filter((v): v is number => typeof v === "number");
  const value = median(values);
  return value === undefined ? undefined : value * scale;
}

/** The middle value; the mean of the two middle ones for an even count. */
function trueMedian(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? sorted[mid]
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The middle value, or the two middle ones for an even count: a target is met when the median
 * round meets it, and with an even number of rounds both middle rounds must.
 */
function middles(values: readonly number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return [];
  return sorted.length % 2 === 1
    ? [sorted[mid]!]
    : [sorted[mid - 1]!, sorted[mid]!];
}

function roundOf(m: Measured): number | undefined {
  if (m.round !== undefined) return m.round;
  return typeof m.result.run === "number" ? m.result.run : undefined;
}

/** One round's ratio emd ÷ peer, and emd's own figure in it (unscaled). */
interface RoundRatio {
  readonly ratio: number;
  readonly emd: number;
}

/**
 * emd's figure ÷ `peer`'s, per round in which both were measured (in round order). Runs without a
 * round count as one round together.
 */
function roundRatios(
  all: readonly Measured[],
  spec: Spec,
  peer: string,
): RoundRatio[] {
  const byRound = (label: string) => {
    const runs = new Map<number, number[]>();
    for (const m of all) {
      const value = m.result[spec.field];
      if (
        m.workload !== spec.workload || m.size !== spec.size ||
        m.label !== label || typeof value !== "number"
      ) continue;
      const r = roundOf(m) ?? 0;
      runs.set(r, [...runs.get(r) ?? [], value]);
    }
    return new Map([...runs].map(([r, values]) => [r, trueMedian(values)!]));
  };
  const [emd, other] = [byRound("emd"), byRound(peer)];
  return [...emd.keys()].sort((a, b) => a - b)
    .filter((r) => other.has(r) && other.get(r) !== 0)
    .map((r) => ({ ratio: emd.get(r)! / other.get(r)!, emd: emd.get(r)! }));
}

const ratio = (a?: number, b?: number) =>
  a === undefined || b === undefined || b === 0 ? null : round(a / b, 3);
const cell = (v?: number) => (v === undefined ? null : round(v, 3));

interface Spec {
  workload: Measured["workload"];
  size: number;
  what: string;
  field: string;
  scale?: number;
  /** The target as text. */
  target: string;
  /**
   * Whose figure the target compares emd's with, and whether the median of the per-round ratios
   * (and emd's median figure) meets it; none: not judged.
   */
  judged?: {
    readonly peer: "emd_ref" | "redis";
    readonly meets: (ratio: number, emd: number) => boolean;
  };
}

function sizesOf(
  all: readonly Measured[],
  workload: Measured["workload"],
): number[] {
  return [
    ...new Set(all.filter((m) => m.workload === workload).map((m) => m.size)),
  ]
    .sort((a, b) => a - b);
}

function fanoutSpec(s: number): Spec {
  return {
    workload: "fanout",
    size: s,
    what: `fanout S=${s}, M msg/s delivered`,
    field: "rate",
    scale: 1e-6,
    target: "≥ emd_ref",
    judged: { peer: "emd_ref", meets: (ratio) => ratio >= 1 },
  };
}

function latencySpecs(n: number): Spec[] {
  return ["p50", "p99", "p99.9"].map((p) => ({
    workload: "latency",
    size: n,
    what: `latency ${p} µs (${n} receivers, 1000/s)`,
    field: `${p.replace(".", "")}_us`,
    target: p === "p99" ? "≤ 1.2× Redis and < 1000 µs" : "–",
    ...(p === "p99"
      ? {
        judged: {
          peer: "redis" as const,
          meets: (ratio: number, emd: number) => ratio <= 1.2 && emd < 1000,
        },
      }
      : {}),
  }));
}

function connsSpecs(n: number): Spec[] {
  return [{
    workload: "conns",
    size: n,
    what: `conns N=${n}, KB per connection`,
    field: "kb_per_conn",
    target: "≤ Redis",
    judged: { peer: "redis", meets: (ratio) => ratio <= 1 },
  }, {
    workload: "conns",
    size: n,
    what: `conns N=${n}, ms for one trigger to reach all`,
    field: "all_ms",
    target: "≤ 1.2× Redis",
    judged: { peer: "redis", meets: (ratio) => ratio <= 1.2 },
  }];
}

function specs(all: readonly Measured[]): Spec[] {
  return [
    ...sizesOf(all, "fanout").map(fanoutSpec),
    ...sizesOf(all, "latency").flatMap(latencySpecs),
    ...sizesOf(all, "conns").flatMap(connsSpecs),
  ];
}

/** Whether any of emd's runs of this workload and size lost, disordered or dropped anything. */
function emdUnclean(all: readonly Measured[], spec: Spec): boolean {
  return all.some((m) =>
    m.label === "emd" && m.workload === spec.workload && m.size === spec.size &&
    ["lost", "ooo", "disconnected", "timed_out"].some((field) =>
      Number(m.result[field]) > 0
    )
  );
}

/** Each round's judged ratio and their spread, e.g. "0.91, 0.94, 1.02 (0.91–1.02; 2 of 3 met)". */
function roundsCell(rounds: readonly RoundRatio[], spec: Spec): string | null {
  if (rounds.length === 0 || spec.judged === undefined) return null;
  const sorted = rounds.map((r) => r.ratio).sort((a, b) => a - b);
  const met = rounds.filter((r) => spec.judged!.meets(r.ratio, r.emd)).length;
  return `${rounds.map((r) => round(r.ratio, 3)).join(", ")} (${
    round(sorted[0]!, 3)
  }–${round(sorted.at(-1)!, 3)}; ${met} of ${rounds.length} met)`;
}

/**
 * The comparison table rows for the load-generator workloads. Each ratio is the median of the
 * per-round ratios; the judged one (emd/emd_ref for fan-out, emd/Redis otherwise) is also printed
 * round by round. A figure from runs in which emd lost, disordered or dropped anything does not
 * meet its target, however fast it was.
 */
export function compareRows(all: readonly Measured[]): Row[] {
  return specs(all).map((spec) => {
    const get = (label: string) =>
      figure(all, spec.workload, spec.size, label, spec.field, spec.scale);
    const [emd, ref, redis] = [get("emd"), get("emd_ref"), get("redis")];
    const floor = get("deno_floor");
    const ratios = (peer: string) =>
      trueMedian(roundRatios(all, spec, peer).map((r) => r.ratio));
    const rounds = spec.judged ? roundRatios(all, spec, spec.judged.peer) : [];
    const ratioMiddle = middles(rounds.map((r) => r.ratio));
    const emdMiddle = middles(rounds.map((r) => r.emd));
    const met = spec.judged === undefined || ratioMiddle.length === 0
      ? null
      : ratioMiddle.every((ratio) =>
        emdMiddle.every((emd) => spec.judged!.meets(ratio, emd))
      ) && !emdUnclean(all, spec);
    const medianRatio = (peer: string) => {
      const value = ratios(peer);
      return value === undefined ? null : round(value, 3);
    };
    return {
      figure: spec.what,
      emd: cell(emd),
      emd_ref: cell(ref),
      redis: cell(redis),
      "deno floor": cell(floor),
      "emd/emd_ref": medianRatio("emd_ref"),
      "emd/redis": medianRatio("redis"),
      "emd/floor": medianRatio("deno_floor"),
      target: spec.target,
      "judged ratio per round": roundsCell(rounds, spec),
      met: met === null ? "–" : met ? "yes" : "NO",
    };
  });
}

/**
 * Losses, disorder and disconnects per target, summed over every recorded run, and how busy the
 * machine's cores were during its fanout runs (near 100 %: the run competed with other work).
 */
export function cleanlinessRows(all: readonly Measured[]): Row[] {
  const labels = [...new Set(all.map((m) => m.label))];
  const sum = (label: string, field: string) =>
    all.filter((m) => m.label === label)
      .reduce((n, m) => n + (Number(m.result[field]) || 0), 0);
  const busy = (label: string) =>
    median(
      all.filter((m) => m.label === label && m.workload === "fanout")
        .map((m) => Number(m.result.machine_busy_pct))
        .filter((v) => Number.isFinite(v)),
    );
  return labels.map((label) => ({
    target: label,
    runs: all.filter((m) => m.label === label).length,
    lost: sum(label, "lost"),
    ooo: sum(label, "ooo"),
    disconnected: sum(label, "disconnected"),
    "timed out": sum(label, "timed_out"),
    "machine busy % (fanout, median)": cell(busy(label)),
  }));
}

/** One-shot rows: wall ms and the ratio to `deno run hello.ts`. */
export function oneShotRows(all: readonly OneShot[]): Row[] {
  const how = (label: string) => label.match(/\(([^()]*)\)$/)?.[1];
  const helloFor = (label: string) =>
    all.find((o) =>
      o.label.startsWith("deno run hello") && how(o.label) === how(label)
    );
  const helloOf = (label: string) => helloFor(label)?.median;
  const emTool = /^em(trigger|wait)\b/;
  return all.map((o) => ({
    command: o.label,
    "min ms": round(o.min, 3),
    "median ms": round(o.median, 3),
    "÷ hello": ratio(o.median, helloOf(o.label)),
    "min ÷ hello min": ratio(o.min, helloFor(o.label)?.min),
    target: emTool.test(o.label) ? "≤ 1.25× hello" : "–",
    met: emTool.test(o.label) && helloOf(o.label) !== undefined
      ? (o.median <= 1.25 * helloOf(o.label)! ? "yes" : "NO")
      : "–",
  }));
}

/**
 * Who was the limit in each fanout row: the server's and the load generator's CPU (% of one core,
 * medians). A load generator near 100 % means the row measured the client, not the server.
 */
export function fanoutCpuRows(all: readonly Measured[]): Row[] {
  const fanout = all.filter((m) => m.workload === "fanout");
  const labels = [...new Set(fanout.map((m) => m.label))]; // not the floor: conns only
  return sizesOf(all, "fanout").map((s) => {
    const row: Row = { S: s };
    for (const label of labels) {
      const srv = figure(all, "fanout", s, label, "srv_cpu_pct");
      const lg = figure(all, "fanout", s, label, "lg_cpu_pct");
      row[`${label} CPU %: server / loadgen`] = srv === undefined
        ? null
        : `${Math.round(srv)} / ${Math.round(lg ?? NaN)}`;
    }
    return row;
  });
}
