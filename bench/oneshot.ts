/**
 * one-shot: the wall time of a fresh process from spawn to exit, for `emtrigger` and for `emwait`
 * until a trigger wakes it (sent as soon as emd tells that emwait's wait is confirmed:
 * bench/_wait_waker.ts), run the README's way (cli/em_bundle.js, the bundle), against `deno run` of a
 * hello-world file (the floor of any Deno tool); and emtrigger through cli/main.ts, unbundled, for
 * what the bundle saves; and emd until it says where it listens (its start-up). One warm-up each,
 * then the commands take turns, so drift hits all alike.
 * @module
 */
import { fileURLToPath } from "node:url";
import { Publisher } from "./_publisher.ts";
import { WaitWaker } from "./_wait_waker.ts";
import { pause, reap } from "./_deadline.ts";
import {
  type BenchContext,
  percentile,
  round,
  type Row,
  type Workload,
  type WorkloadResult,
} from "./workload.ts";

const BUNDLE = fileURLToPath(new URL("../cli/em_bundle.js", import.meta.url));
const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const HELLO = fileURLToPath(new URL("./hello.ts", import.meta.url));
const WAKE = "oneshot_wake";
const OLD_WAKE = "oneshot_old_wake"; // the exact waker leaves it alone
/** V8's eager compilation, as the README runs the tools. */
export const README_V8_FLAG = "--v8-flags=--no-lazy";
/**
 * The flags the README's alias and deno-install loop give the tools: V8's eager compilation (so
 * that Deno's code cache holds every function: docs/PERFORMANCE.md, "One-shot start-up, third
 * session") and the permissions. Every run of cli/em_bundle.js here uses the same V8 flags: V8
 * rejects a code cache made under other flags, and Deno then compiles and caches it anew.
 */
export const README_FLAGS: readonly string[] = [
  README_V8_FLAG,
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-run",
];

interface Command {
  readonly label: string;
  readonly args: string[];
  /** Waits for {@link WAKE}: woken by the {@link WaitWaker} once its wait is confirmed. */
  readonly wake?: boolean;
  /** Waits for {@link OLD_WAKE}, sent every `setTimeout(1)` while it runs (the old harness). */
  readonly oldWake?: boolean;
  /** Timed until its first line on stdout (emd's "listening on …"), then stopped. */
  readonly untilLine?: boolean;
}

/** Runs one command; returns its wall time in ms and exit code. */
async function timed(
  command: Command,
  publisher: Publisher,
): Promise<{ ms: number; code: number }> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: command.args,
    stdin: "null",
    stdout: command.untilLine ? "piped" : "null",
    stderr: "null",
  }).spawn();
  if (command.untilLine) return await untilFirstLine(child, started);
  let exited = false;
  const status = reap(child, 20_000).then((s) => (exited = true, s));
  while (command.oldWake && !exited) {
    await publisher.trigger(OLD_WAKE);
    await Promise.race([status, pause(1)]);
  }
  const { code } = await status;
  return { ms: performance.now() - started, code };
}

/** Times `child` until its first stdout line, then stops it; exit code 1 if it ended first. */
async function untilFirstLine(
  child: Deno.ChildProcess,
  started: number,
): Promise<{ ms: number; code: number }> {
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { done, value } = await lines.read();
      if (done) break;
      text += value;
    }
    return {
      ms: performance.now() - started,
      code: text.includes("\n") ? 0 : 1,
    };
  } finally {
    await lines.cancel();
    await reap(child, 5_000, "SIGTERM");
  }
}

/** The one-shot workload. */
export const oneshot: Workload = {
  name: "oneshot",
  summary: "wall ms of emtrigger / emwait processes vs deno run hello.ts",
  async run(context: BenchContext): Promise<WorkloadResult> {
    const emd = await context.emd();
    const flags = README_FLAGS; // as the README runs them: read permission changes what loads
    const target = ["127.0.0.1", String(emd.port)];
    const commands: Command[] = [
      { label: "deno run hello.ts", args: ["run", HELLO] },
      {
        label: "emtrigger",
        args: [
          "run",
          ...flags,
          BUNDLE,
          "emtrigger",
          ...target,
          "oneshot_event",
        ],
      },
      {
        label: "emwait (until woken)",
        args: ["run", ...flags, BUNDLE, "emwait", ...target, WAKE, "20000"],
        wake: true,
      },
      ...(context.options.oneshotOldWaker
        ? [{
          label: "old waker: emwait woken every setTimeout(1)",
          args: [
            "run",
            ...flags,
            BUNDLE,
            "emwait",
            ...target,
            OLD_WAKE,
            "20000",
          ],
          oldWake: true,
        }]
        : []),
      {
        label: "cli/main.ts emtrigger (unbundled)",
        args: ["run", ...flags, MAIN, "emtrigger", ...target, "oneshot_event"],
      },
      {
        label: "emd (until listening)",
        args: [
          "run",
          README_V8_FLAG,
          "-A",
          BUNDLE,
          "emd",
          "-q",
          "--free-port",
          "oneshot_emd",
        ],
        untilLine: true,
      },
    ];
    await using waker = await WaitWaker.connect(emd.port, WAKE);
    await using publisher = await Publisher.connect(emd.port);
    const times = commands.map(() => [] as number[]);
    const failures: string[] = [];
    const runs = context.options.oneshotRuns;
    for (let round = 0; round <= runs; round++) { // round 0 is the warm-up
      for (const [i, command] of commands.entries()) {
        const woken = waker.woken;
        const { ms, code } = await timed(command, publisher);
        if (code !== 0) failures.push(`oneshot ${command.label}: exit ${code}`);
        if (command.wake && waker.woken !== woken + 1) {
          failures.push(
            `oneshot ${command.label}: woke ${
              waker.woken - woken
            } waits, not 1`,
          );
        }
        if (round > 0) times[i]!.push(ms);
      }
    }
    const floor = median(times[0]!);
    const rows: Row[] = commands.map((command, i) => ({
      command: command.label,
      runs,
      "min ms": round(Math.min(...times[i]!)),
      "median ms": round(median(times[i]!)),
      "÷ hello median": round(median(times[i]!) / floor),
    }));
    context.progress(
      `oneshot: emtrigger ${rows[1]!["÷ hello median"]}× hello`,
    );
    return { rows, failures };
  },
};

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}
