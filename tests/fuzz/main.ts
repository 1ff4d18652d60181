// deno-lint-ignore-file no-console
/**
 * `deno task fuzz`: the long fuzz run. By default 1,000,000 generated cases: 900,000 for the codec,
 * 50,000 sequences for the sync state machine, 50,000 connections to a server (tests/fuzz/
 * _targets.ts, _server_target.ts). The seed is printed; `--seed S` replays a run, `--replay FILE`
 * one saved case. A failing case is minimised (smaller variants tried while it still fails) and
 * saved under tests/fuzz/regressions/, where tests/fuzz/fuzz_test.ts replays every file: it fails
 * until the bug is fixed. Exit 0 when every case passed, 1 on a failure, 64 on bad arguments.
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { codec, sync, type Target } from "./_targets.ts";
import { type ServerTarget, startServerTarget } from "./_server_target.ts";
import { minimise, type Regression, runCases } from "./_run.ts";

const USAGE =
  `Usage: deno task fuzz [--cases N] [--targets LIST] [--seed S] [--replay FILE]

  --cases N        cases in all (default 1000000): 90 % codec, 5 % sync, 5 % server
  --targets LIST   codec,sync,server (default all)
  --seed S         replay a run (default: from the clock, printed)
  --replay FILE    check one saved case (tests/fuzz/regressions/*.json) and exit
  --out DIR        where failing cases are saved (default tests/fuzz/regressions)
  --report DIR     where the run's report goes (default bench/results)`;

const SHARES: Record<string, number> = { codec: 0.9, sync: 0.05, server: 0.05 };

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      options: {
        cases: { type: "string", default: "1000000" },
        targets: { type: "string", default: "codec,sync,server" },
        seed: { type: "string" },
        replay: { type: "string" },
        out: {
          type: "string",
          default: fileURLToPath(new URL("./regressions", import.meta.url)),
        },
        report: {
          type: "string",
          default: fileURLToPath(
            new URL("../../bench/results", import.meta.url),
          ),
        },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 64;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.replay !== undefined) return await replay(values.replay);
  const cases = Number(values.cases);
  const seed = Number(values.seed ?? Date.now() % 2 ** 31);
  const names = values.targets.split(",");
  if (
    !(cases > 0) || !Number.isInteger(seed) || names.some((n) => !(n in SHARES))
  ) {
    console.error(`Invalid --cases, --seed or --targets\n${USAGE}`);
    return 64;
  }
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  const startedAt = new Date();
  say(`fuzz: seed ${seed} (--seed ${seed} replays this run), ${cases} cases`);
  let failed = false;
  for (const name of names) {
    const count = Math.round(cases * SHARES[name]!);
    const started = performance.now();
    await using server = name === "server"
      ? await startServerTarget()
      : undefined;
    const target = (server ?? (name === "codec" ? codec : sync)) as Target<
      unknown
    >;
    const failure = await runCases(
      target,
      seed,
      count,
      server as ServerTarget | undefined,
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (failure === undefined) {
      say(`${name}: ${count} cases passed in ${seconds} s`);
      continue;
    }
    failed = true;
    say(`${name}: case ${failure.index} FAILED: ${failure.message}`);
    const regression = await minimise(target, seed, failure);
    await Deno.mkdir(values.out, { recursive: true });
    const path = `${values.out}/${name}-${seed}-${failure.index}.json`;
    await Deno.writeTextFile(path, JSON.stringify(regression) + "\n");
    say(
      `${name}: minimised to ${
        JSON.stringify(regression.case).length
      } characters, saved ${path}`,
    );
  }
  await Deno.mkdir(values.report, { recursive: true });
  const stamp = startedAt.toISOString().slice(0, 16).replace(":", "-");
  const report = `${values.report}/fuzz-${stamp}.txt`;
  await Deno.writeTextFile(
    report,
    `deno task fuzz ${Deno.args.join(" ")} (${startedAt.toISOString()})\n${
      lines.join("\n")
    }\n`,
  );
  console.log(`report: ${report}`);
  return failed ? 1 : 0;
}

async function replay(path: string): Promise<number> {
  const regression: Regression = JSON.parse(await Deno.readTextFile(path));
  await using server = regression.target === "server"
    ? await startServerTarget()
    : undefined;
  const target =
    (server ?? (regression.target === "codec" ? codec : sync)) as Target<
      unknown
    >;
  const message = await target.check(regression.case);
  console.log(message === undefined ? "passes" : `fails: ${message}`);
  return message === undefined ? 0 : 1;
}

Deno.exit(await main());
