// `deno task bench --quick` end to end: every workload runs against a real emd and reports sane,
// loss-free results. Figures are not judged here (they live in bench/results/), only structure.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseOptions } from "../../bench/run.ts";
import { runProgram } from "../_helpers/cli.ts";

const RUN = fileURLToPath(new URL("../../bench/run.ts", import.meta.url));

function bench(args: string[]) {
  return runProgram(Deno.execPath(), { args: ["run", "-A", RUN, ...args] });
}

Deno.test("bench: a bad option is a usage error (64) naming it", async () => {
  const { code, stderr } = await bench(["--subs", "0,10"]);
  assert.equal(code, 64);
  assert.match(stderr, /invalid --subs "0,10"/);
  assert.match(stderr, /Usage: deno task bench/);
});

Deno.test("bench: parseOptions rejects unknown workloads and non-positive sizes", () => {
  assert.throws(
    () => parseOptions(["--only", "nope"]),
    /unknown workload "nope"/,
  );
  assert.throws(() => parseOptions(["--conns=-3"]), /invalid --conns "-3"/);
  assert.throws(() => parseOptions(["--reps", "x"]), /invalid --reps "x"/);
  const { options, only } = parseOptions(["--quick", "--only", "fanout,conns"]);
  assert.deepEqual(only, ["fanout", "conns"]);
  assert.equal(options.quick, true);
  assert.deepEqual(options.fanoutSubs, [1, 10, 100]);
});

interface Report {
  workloads: Record<
    string,
    { rows: Record<string, unknown>[]; failures: string[] }
  >;
  failures: string[];
}

Deno.test("bench: --quick runs every workload against a real emd and writes JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench_test_" });
  try {
    const out = `${dir}/bench.json`;
    const { code, stdout, stderr } = await bench(["--quick", "--out", out]);
    const report = JSON.parse(await Deno.readTextFile(out)) as Report;
    const { fanout, latency, conns, oneshot, stall } = report.workloads;
    assert.ok(fanout && latency && conns && oneshot && stall, stderr);
    for (const [name, result] of Object.entries(report.workloads)) {
      assert.ok(result.rows.length > 0, `${name} has no rows: ${stderr}`);
      assert.match(stdout, new RegExp(`## ${name}\\n`));
    }
    assert.deepEqual(fanout.rows.map((row) => row.S), [1, 10, 100]);
    for (const row of fanout.rows) {
      assert.equal(row.lost, 0);
      assert.equal(row.ooo, 0);
      assert.equal(row.disconnected, 0);
      assert.ok((row["M msg/s"] as number) > 0);
    }
    const [lat] = latency.rows;
    assert.equal(lat!.samples, 10 * 200);
    assert.equal(lat!.lost, 0);
    assert.ok((lat!["p50 µs"] as number) <= (lat!["p99 µs"] as number));
    assert.equal(conns.rows[0]!.N, 200);
    assert.equal(conns.rows[0]!.lost, 0);
    if (Deno.build.os === "linux") { // /proc: emd's CPU for the trigger, per receiver
      assert.ok((conns.rows[0]!["server user µs per receiver"] as number) >= 0);
      assert.ok(
        (conns.rows[0]!["server kernel µs per receiver"] as number) >= 0,
      );
    }
    assert.deepEqual(
      oneshot.rows.map((row) => row.command),
      [
        "deno run hello.ts",
        "emtrigger",
        "emwait (until woken)",
        "cli/main.ts emtrigger (unbundled)",
        "emd (until listening)",
      ],
    );
    assert.deepEqual(oneshot.failures, []);
    const { tls } = report.workloads;
    assert.deepEqual(
      tls?.rows.map((row) => row.transport),
      ["plain", "tls", "tls ÷ plain"],
      stderr,
    );
    for (const row of tls!.rows) {
      assert.ok((row["round trip µs"] as number) > 0);
    }
    assert.equal(stall.rows[0]!["stalled cut"], true, stderr);
    assert.deepEqual(report.failures, [], stderr);
    assert.equal(code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
