// cli/em_bundle.js, the bundle the README runs: fresh, and the same tools as cli/main.ts, faster to start.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { README_FLAGS } from "../../bench/oneshot.ts";
import { BUNDLE, bundleEm } from "../../cli/bundle.ts";
import {
  closedPort,
  runProgram,
  runTool,
  startEmd,
  toolEnv,
  type ToolResult,
} from "../_helpers/cli.ts";

const EM_JS = fileURLToPath(BUNDLE);

/** `deno run --quiet <flags> cli/em_bundle.js <args>`. */
function runBundle(
  flags: readonly string[],
  args: readonly string[],
): Promise<ToolResult> {
  return runProgram(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, EM_JS, ...args],
    env: toolEnv(),
  });
}

Deno.test("bundle: cli/em_bundle.js is what `deno task bundle` makes from the sources now", async () => {
  const fresh = await bundleEm();
  const checkedIn = await Deno.readTextFile(BUNDLE);
  assert.ok(
    fresh === checkedIn,
    "cli/em_bundle.js is stale: run `deno task bundle` and commit cli/em_bundle.js",
  );
});

Deno.test("bundle: emtrigger and emwait run from it with network permission only, as from cli/main.ts", async () => {
  await using emd = await startEmd("srv");
  const server = ["127.0.0.1", String(emd.port)];
  const net = ["--allow-net=127.0.0.1"];
  assert.deepEqual(await runTool(["emtrigger", ...server, "--latch", "done"]), {
    code: 0,
    stdout: "",
    stderr: "",
  });
  const cases = [
    ["emwait", ...server, "done", "0"], // latched: exit 0
    ["emwait", ...server, "other,done", "0"], // prints the name
    ["emwait", ...server, "nothing", "0"], // timeout: exit 2
    ["emtrigger", ...server, "go"],
    ["emtrigger", "127.0.0.1", String(closedPort()), "go"], // refused: exit 1
    ["emtrigger", ...server, "bad name"], // usage: exit 64
    ["emtrigger", ...server, "--latch", "--reset", "x"],
    ["emwait", "--data", "x"],
  ];
  for (const args of cases) {
    assert.deepEqual(
      await runBundle(net, args),
      await runTool(args),
      args.join(" "),
    );
  }
});

Deno.test("bundle: what needs the library client runs from source, as from cli/main.ts", async () => {
  await using emd = await startEmd("srv");
  const server = ["127.0.0.1", String(emd.port)];
  const list = ["-s", `127.0.0.1:${emd.port},127.0.0.1:${closedPort()}`];
  const cases = [
    ["emtrigger", ...server, "--latch", "up"],
    ["emwait", ...server, "up", "0"],
    ["emtrigger", ...server, "--reset", "up"],
    ["emwait", ...server, "up", "0"], // timeout: the latch is gone
    ["emtrigger", ...server, "--data", '{"a":1}', "door/open"], // prints 0 receivers
    ["emtrigger", ...server, "--data", "{", "door/open"], // usage: bad JSON
    ["emtrigger", ...list, "ev"], // failover list
    ["emwait", ...list, "ev", "0"],
  ];
  for (const args of cases) {
    assert.deepEqual(
      await runBundle(README_FLAGS, args),
      await runTool(args),
      args.join(" "),
    );
  }
  const withoutRead = await runBundle(["--allow-net=127.0.0.1"], cases[0]!);
  assert.equal(withoutRead.code, 1);
  assert.match(
    withoutRead.stderr,
    /^em: Cannot load ".*cli\/emtrigger\.ts": cli\/em_bundle\.js runs it from its source file, which needs read permission \(--allow-read\)\n$/,
  );
});

Deno.test("bundle: every other tool runs from its source file, which needs read permission", async () => {
  await using emd = await startEmd("srv");
  const quit = ["emquit", "127.0.0.1", String(emd.port), "wrong"];
  const fromMain = await runTool(quit);
  assert.equal(fromMain.code, 1);
  assert.deepEqual(await runBundle(README_FLAGS, quit), fromMain);
  const withoutRead = await runBundle(["--allow-net=127.0.0.1"], quit);
  assert.equal(withoutRead.code, 1);
  assert.match(
    withoutRead.stderr,
    /^em: Cannot load ".*cli\/emquit\.ts": cli\/em_bundle\.js runs it from its source file, which needs read permission \(--allow-read\)\n$/,
  );
});

Deno.test("bundle: em --help, --version and an unknown tool answer as cli/main.ts does", async () => {
  for (const args of [["--help"], ["--version"], ["nope"], []]) {
    assert.deepEqual(
      await runBundle(README_FLAGS, args),
      await runTool(args),
      args.join(" "),
    );
  }
});

Deno.test("bundle: it loads no deno.json (the version is written in): a copy alone prints the same version", async () => {
  const dir = await Deno.makeTempDir({ prefix: "em_bundle_alone_" });
  try {
    await Deno.mkdir(`${dir}/cli`);
    await Deno.copyFile(EM_JS, `${dir}/cli/em_bundle.js`);
    const alone = await runProgram(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-config",
        `${dir}/cli/em_bundle.js`,
        "--version",
      ],
      env: toolEnv(),
    });
    assert.deepEqual(alone, await runTool(["--version"]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bundle: the README, docs/CI.md and the CI examples run it with the bench's flags, V8's eager compilation included", async () => {
  const root = new URL("../../", import.meta.url);
  const expected = [...README_FLAGS].sort();
  assert.ok(expected.includes("--v8-flags=--no-lazy"));
  const files = {
    "README.md": 3, // the alias twice, the deno-install loop
    "docs/CI.md": 1,
    "examples/ci/pipeline.sh": 1,
    "examples/ci/sync.sh": 1,
  };
  for (const [file, count] of Object.entries(files)) {
    const text = (await Deno.readTextFile(new URL(file, root)))
      .replaceAll(/\\\n\s*/g, ""); // join continued shell lines
    const runs = [
      ...text.matchAll(/((?:--[\w-]+(?:=\S+)? )+)\S*cli\/em_bundle\.js/g),
    ];
    assert.equal(runs.length, count, file);
    for (const [, flags] of runs) {
      assert.deepEqual(flags!.trim().split(" ").sort(), expected, file);
    }
  }
});
