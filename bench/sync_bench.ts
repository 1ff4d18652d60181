/**
 * Locks: emd's mutex against the common Redis lock recipe (`SET key token NX PX ms`, then a
 * compare-and-delete in Lua through `EVAL`), on the same machine in the same run.
 *
 * - uncontended: one client takes and releases one lock in a loop; lock+unlock pairs per second
 *   (two round trips each, for both).
 * - contended: N clients (default 100) on one lock; total acquisitions per second, and the
 *   fewest and most one client got. em queues waiters (first come, first served, the grant is
 *   pushed to the next waiter); Redis has no queue, so its clients retry `SET NX` at once: the
 *   recipe's best throughput (a retry delay, as libraries use, only lowers it).
 *
 * The sides take turns in R rounds (default 5) and each reports its median round, so a change in
 * the machine's load during the run hits both alike. Both check mutual exclusion while they run (a second holder is a failure). emd and redis-server
 * run as their own processes; the clients share this one.
 *
 * ```sh
 * deno run -A bench/sync_bench.ts [--seconds S] [--rounds R] [--clients N] [--no-redis] [--out PATH]
 * deno task bench --only sync      # the same workload inside em's benchmark
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { startEmd } from "./_emd.ts";
import {
  emRawSide,
  emSide,
  type LockClient,
  type LockSide,
  redisSide,
} from "./_lock_sides.ts";
import { ensureRedis, hasProgram, redisTarget } from "./_yardstick.ts";
import { markdownTable } from "./_table.ts";
import {
  type BenchContext,
  round,
  type Row,
  type Workload,
  type WorkloadResult,
} from "./workload.ts";

/** Settings of one sync benchmark run. */
export interface SyncBenchOptions {
  /** Seconds each side is measured per measurement, over all rounds (after short warm-ups). */
  readonly seconds: number;
  /** Rounds in which the sides take turns; each side's figure is its median round. */
  readonly rounds: number;
  /** Clients contending for one lock. */
  readonly clients: number;
  /** Progress lines. */
  readonly say: (line: string) => void;
  /**
   * Only one client's lock + unlock against Redis: no raw-lines side, no contended shape (what
   * `bench:compare` judges, in its time budget).
   * @default false
   */
  readonly uncontendedOnly?: boolean;
}

/** What one measurement found. */
interface Measured {
  readonly perSecond: number;
  readonly minPerClient: number;
  readonly maxPerClient: number;
  readonly overlaps: number;
}

/** `clients` clients lock and unlock `name` for `seconds`; counts what finished in time. */
async function measure(
  side: LockSide,
  name: string,
  clients: number,
  seconds: number,
): Promise<Measured> {
  const opened = await Promise.all(
    Array.from({ length: clients }, () => side.open()),
  );
  const counts = new Array<number>(clients).fill(0);
  let overlaps = 0, holders = 0;
  let deadline = Infinity;
  const loop = async (client: LockClient, index: number, until: number) => {
    while (performance.now() < Math.min(until, deadline)) {
      await client.lock(name);
      if (++holders > 1) overlaps++;
      if (performance.now() < deadline) counts[index]!++;
      holders--;
      await client.unlock(name);
    }
  };
  try {
    const warm = performance.now() + Math.min(500, seconds * 250); // JIT, connections, caches
    await Promise.all(opened.map((client, i) => loop(client, i, warm)));
    counts.fill(0);
    const started = performance.now();
    deadline = started + seconds * 1000;
    await Promise.all(opened.map((client, i) => loop(client, i, Infinity)));
    const total = counts.reduce((sum, n) => sum + n, 0);
    return {
      perSecond: total / seconds,
      minPerClient: Math.min(...counts),
      maxPerClient: Math.max(...counts),
      overlaps,
    };
  } finally {
    await Promise.all(opened.map((client) => client.close()));
  }
}

/**
 * Runs both measurements for emd on `emdPort` and, when `redisPort` is given, for Redis.
 * @returns one row per measurement, and failures (mutual exclusion broken)
 */
export async function runSyncBench(
  ports: { emd: number; redis?: number },
  options: SyncBenchOptions,
): Promise<WorkloadResult> {
  const sides = [emSide(ports.emd)];
  if (ports.redis !== undefined) sides.push(redisSide(ports.redis));
  const shapes = [
    { label: "lock+unlock, 1 client", clients: 1, unit: "pairs/s", raw: true },
    {
      label: `${options.clients} clients on one lock`,
      clients: options.clients,
      unit: "acquisitions/s",
      raw: false,
    },
  ];
  const rows: Row[] = [];
  const failures: string[] = [];
  const only = options.uncontendedOnly === true;
  for (const [i, shape] of (only ? shapes.slice(0, 1) : shapes).entries()) {
    options.say(`sync: ${shape.label}…`);
    const shapeSides = shape.raw && !only
      ? [...sides, emRawSide(ports.emd)]
      : sides;
    const runs = new Map<string, Measured[]>(
      shapeSides.map((side) => [side.label, []]),
    );
    for (let turn = 0; turn < options.rounds; turn++) {
      // the sides take turns (in alternating order), so drift in the machine's load hits both
      const order = turn % 2 === 0 ? shapeSides : [...shapeSides].reverse();
      for (const side of order) {
        const m = await measure(
          side,
          `bench_lock_${i}`,
          shape.clients,
          options.seconds / options.rounds,
        );
        runs.get(side.label)!.push(m);
        if (m.overlaps > 0) {
          failures.push(`${side.label}: ${m.overlaps} overlapping holds`);
        }
      }
    }
    const found = Object.fromEntries(
      [...runs].map(([label, measured]) => [label, median(measured)]),
    );
    for (const [label, m] of Object.entries(found)) {
      options.say(`sync: ${label}: ${round(m.perSecond)} ${shape.unit}`);
    }
    rows.push(rowOf(shape, found));
    const raw = found["emd raw"];
    if (raw !== undefined) {
      rows.push(
        rowOf({
          ...shape,
          label: `${shape.label}, emd without the client library`,
        }, {
          ...found,
          emd: raw,
        }),
      );
    }
  }
  return { rows, failures };
}

/** The run with the median rate. */
function median(runs: Measured[]): Measured {
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function rowOf(
  shape: { label: string; clients: number; unit: string },
  found: Record<string, Measured>,
): Row {
  const em = found.emd!, redis = found.redis;
  const spread = (m: Measured | undefined) =>
    m === undefined ? null : `${m.minPerClient}–${m.maxPerClient}`;
  return {
    measurement: shape.label,
    unit: shape.unit,
    emd: round(em.perSecond),
    redis: redis === undefined ? null : round(redis.perSecond),
    "emd/redis": redis === undefined
      ? null
      : round(em.perSecond / redis.perSecond),
    "emd per client": shape.clients > 1 ? spread(em) : null,
    "redis per client": shape.clients > 1 ? spread(redis) : null,
  };
}

/**
 * Starts redis-server on a free port, runs `body`, stops it. With `install`, a missing
 * redis-server is installed with apt-get first; without, or when that fails, `body` gets no port.
 */
export async function withRedis<T>(
  install: boolean,
  say: (line: string) => void,
  body: (port: number | undefined) => Promise<T>,
): Promise<T> {
  const present = install
    ? await ensureRedis(say)
    : await hasProgram("redis-server");
  if (!present) {
    say("sync: no redis-server: emd only");
    return await body(undefined);
  }
  const dir = await Deno.makeTempDir({ prefix: "em_sync_bench_" });
  const redis = await redisTarget(dir);
  try {
    return await body(redis.port);
  } finally {
    await redis.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The workload for `deno task bench`: the shared emd against a Redis of its own. */
export const sync: Workload = {
  name: "sync",
  summary: "mutex lock+unlock and 100 contending clients, emd vs Redis",
  async run(context: BenchContext): Promise<WorkloadResult> {
    const emd = await context.emd();
    const { quick } = context.options;
    return await withRedis( // never installs from inside `deno task bench` (or its test)
      false,
      (line) => context.progress(line),
      (redis) =>
        runSyncBench(
          { emd: emd.port, ...(redis === undefined ? {} : { redis }) },
          {
            seconds: quick ? 0.3 : 3,
            rounds: quick ? 1 : 5,
            clients: quick ? 10 : 100,
            say: (line) => context.progress(line),
          },
        ),
    );
  },
};

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string", default: "3" },
      clients: { type: "string", default: "100" },
      rounds: { type: "string", default: "5" },
      "no-redis": { type: "boolean" },
      out: { type: "string" },
    },
  });
  const options: SyncBenchOptions = {
    seconds: Number(values.seconds),
    clients: Number(values.clients),
    rounds: Number(values.rounds),
    say: (line) => Deno.stderr.writeSync(new TextEncoder().encode(line + "\n")),
  };
  await using emd = await startEmd();
  const run = (redis: number | undefined) =>
    runSyncBench(
      { emd: emd.port, ...(redis === undefined ? {} : { redis }) },
      options,
    );
  const result = values["no-redis"]
    ? await run(undefined)
    : await withRedis(true, options.say, run);
  const out = values.out ??
    fileURLToPath(new URL("./results/sync.json", import.meta.url));
  const record = {
    date: new Date().toISOString(),
    deno: Deno.version.deno,
    cpus: navigator.hardwareConcurrency,
    loadavg: Deno.loadavg(),
    seconds: options.seconds,
    rounds: options.rounds,
    clients: options.clients,
    ...result,
  };
  await Deno.writeTextFile(out, JSON.stringify(record, null, 2) + "\n");
  Deno.stdout.writeSync(
    new TextEncoder().encode(markdownTable(result.rows) + "\n"),
  );
  options.say(`sync: wrote ${out}`);
  for (const failure of result.failures) options.say(`sync: FAILED ${failure}`);
  return result.failures.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
