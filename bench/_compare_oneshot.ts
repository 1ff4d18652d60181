/**
 * The comparison's one-shot part: wall times of fresh processes with the yardstick's `wallrun`
 * (emtrigger, the C and Deno reference triggers, redis-cli, and `deno run` of hello-world), and
 * emwait's through bench/oneshot.ts, which can wake it.
 * @module
 */
import { fileURLToPath } from "node:url";
import { type Target, wallrun } from "./_yardstick.ts";
import type { OneShot } from "./_compare_table.ts";
import type { Emd } from "./_emd.ts";
import { oneshot, README_FLAGS } from "./oneshot.ts";
import { parseOptions } from "./run.ts";
import type { BenchContext } from "./workload.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/** Where the one-shot commands run, and where their lines go. */
export interface OneShotSetup {
  readonly build: string;
  readonly yardstick: string;
  readonly runs: number;
  readonly emd: Target;
  readonly ref: Target;
  readonly redis: Target | undefined;
  /** Receives each raw `wallrun` line. */
  readonly record: (line: string) => void;
  readonly say: (line: string) => void;
}

function commands(setup: OneShotSetup): Array<[string, string[]]> {
  const deno = Deno.execPath();
  const net = "--allow-net=127.0.0.1";
  const em = `${REPO}cli/em_bundle.js`; // the README's way of running the tools
  const { emd, ref, redis } = setup;
  const list: Array<[string, string[]]> = [
    ["deno run hello.ts", [deno, "run", `${REPO}bench/hello.ts`]],
    ["emtrigger", [
      deno,
      "run",
      ...README_FLAGS,
      em,
      "emtrigger",
      "127.0.0.1",
      `${emd.port}`,
      "bench",
    ]],
    ["emtrigger_ref (C)", [
      `${setup.build}/emtrigger_ref`,
      "-p",
      `${ref.port}`,
      "bench",
    ]],
    ["yardstick oneshot/trigger.ts (Deno)", [
      deno,
      "run",
      net,
      `${setup.yardstick}/oneshot/trigger.ts`,
      `${ref.port}`,
      "bench",
    ]],
  ];
  if (redis) {
    list.push(["redis-cli PUBLISH", [
      "redis-cli",
      "-p",
      `${redis.port}`,
      "PUBLISH",
      "bench",
      "x",
    ]]);
  }
  return list;
}

/** `wallrun` figures of every one-shot command, labelled "(wallrun)". */
export async function wallrunShots(setup: OneShotSetup): Promise<OneShot[]> {
  const figures: OneShot[] = [];
  for (const [label, command] of commands(setup)) {
    const w = await wallrun(setup.build, setup.runs, command);
    setup.record(`${label.padEnd(36)} ${w.raw}`);
    setup.say(`${label}: median ${w.median} ms`);
    figures.push({ label: `${label} (wallrun)`, median: w.median, min: w.min });
  }
  return figures;
}

/** bench/oneshot.ts against the compared emd: hello, emtrigger and emwait until woken. */
export async function spawnShots(setup: OneShotSetup): Promise<OneShot[]> {
  const asEmd: Emd = {
    port: setup.emd.port,
    httpPort: 0,
    pid: setup.emd.pid,
    log: () => "",
    stop: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
  const context: BenchContext = {
    options: { ...parseOptions([]).options, oneshotRuns: setup.runs },
    emd: () => Promise.resolve(asEmd),
    freshEmd: () => Promise.reject(new Error("not in compare")),
    progress: setup.say,
  };
  const { rows } = await oneshot.run(context);
  return rows.map((row) => ({
    label: `${row.command} (spawn, bench/oneshot.ts)`,
    median: Number(row["median ms"]),
    min: Number(row["min ms"]),
  }));
}
