import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  binaryName,
  compileStep,
  ENV_VARS,
  FFI_FLAG,
  lazyModules,
  PERMISSIONS,
  TARGETS,
  V8_FLAGS,
} from "../../cli/compile.ts";
import { TOOLS } from "../../cli/main.ts";
import { runProgram, startServerProcess } from "../_helpers/cli.ts";
import { hasNatsServer, startNatsCluster } from "../../bench/_nats_cluster.ts";

const root = new URL("../../", import.meta.url);
const COMPILE = fileURLToPath(new URL("cli/compile.ts", root));
const MAIN = fileURLToPath(new URL("cli/main.ts", root));
const decoder = new TextDecoder();
const mainSource = await Deno.readTextFile(MAIN);

function run(
  program: string,
  args: string[],
  env: Record<string, string> = {},
) {
  return runProgram(program, { args, env, cwd: root });
}

/** Shipped source files: what cli/main.ts's graph can reach (cli/compile.ts is a build script). */
async function shippedSources(): Promise<Map<string, string>> {
  const sources = new Map<string, string>();
  for (const dir of ["protocol", "client", "server", "cli"]) {
    for await (const entry of Deno.readDir(new URL(dir, root))) {
      if (!entry.name.endsWith(".ts") || entry.name === "compile.ts") continue;
      const path = `${dir}/${entry.name}`;
      sources.set(path, await Deno.readTextFile(new URL(path, root)));
    }
  }
  return sources;
}

Deno.test("compile: every lazily loaded tool module is --include'd and in the graph", async () => {
  const modules = lazyModules(mainSource);
  assert.equal(modules.length, Object.keys(TOOLS).length);
  const info = await run(Deno.execPath(), ["info", "--json", MAIN]);
  assert.equal(info.code, 0, info.stderr);
  const graph =
    (JSON.parse(info.stdout) as { modules: { specifier: string }[] })
      .modules.map((m) => m.specifier);
  for (const module of modules) {
    assert.ok(
      graph.includes(new URL(module, root).href),
      `${module} not in the graph`,
    );
  }
  const { args } = compileStep(TARGETS[0]!, "dist", modules);
  for (const module of modules) {
    assert.ok(args.join(" ").includes(`--include ${module} `), module);
  }
});

Deno.test("compile: emd --cluster's NATS bus (a dynamic import) is --include'd and in the graph", async () => {
  const openBus = await Deno.readTextFile(
    new URL("server/delivery/open_bus.ts", root),
  );
  const modules = lazyModules(openBus, "server/delivery");
  assert.deepEqual(modules, ["server/delivery/nats_bus.ts"]);
  const info = await run(Deno.execPath(), ["info", "--json", MAIN]);
  assert.equal(info.code, 0, info.stderr);
  const graph = info.stdout;
  assert.ok(graph.includes(new URL(modules[0]!, root).href), "not in graph");
  const plan = await run(Deno.execPath(), [
    "run",
    "-A",
    COMPILE,
    "--dry-run",
    "--target",
    "host",
  ]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.match(plan.stdout, / --include server\/delivery\/nats_bus\.ts /);
});

Deno.test({
  name:
    "compile: the baked-in permissions suffice for emd --cluster (under deno run)",
  ignore: !hasNatsServer(),
}, async () => {
  await using nats = await startNatsCluster();
  const em = [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, MAIN];
  await startAndQuit([...em, "emd"], [...em, "emquit"], [
    "--cluster",
    nats.urls,
  ]);
});

/** Starts `emd` (a command line) with `flags`, stops it with `emquit`; both must exit 0. */
async function startAndQuit(
  emd: string[],
  emquit: string[],
  flags: string[] = [],
): Promise<void> {
  await using server = await startServerProcess(emd[0]!, [
    ...emd.slice(1),
    ...flags,
    "--free-port",
    "bin",
  ], { cwd: root });
  const quit = await run(emquit[0]!, [
    ...emquit.slice(1),
    "127.0.0.1",
    server.port,
    "bin",
  ]);
  assert.equal(quit.code, 0, quit.stderr);
  assert.equal((await server.exited).code, 0);
}

Deno.test("compile: each target gets its own binary with exactly the baked-in permissions", () => {
  assert.deepEqual(TARGETS, [
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
  ]);
  assert.equal(
    binaryName("x86_64-pc-windows-msvc"),
    "em-x86_64-pc-windows-msvc.exe",
  );
  for (const target of TARGETS) {
    const step = compileStep(target, "dist", []);
    assert.equal(step.output, join("dist", binaryName(target)));
    const flags = step.args.filter((arg) => arg.startsWith("--allow"));
    assert.deepEqual(flags, [...PERMISSIONS]);
    assert.ok(step.args.includes(V8_FLAGS));
    assert.ok(step.args.includes(FFI_FLAG), "emd's synchronous send(2)");
    assert.ok(
      !step.args.some((arg) => /^(-A|--allow-all|--allow-sys)/.test(arg)),
    );
    assert.deepEqual(step.args.slice(-5), [
      "--target",
      target,
      "--output",
      step.output,
      "cli/main.ts",
    ]);
  }
});

function withoutDenort(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.DENORT_BIN;
  return env;
}

Deno.test("compile: --dry-run plans every target, or only the host with DENORT_BIN", async () => {
  const plan = async (env: Record<string, string>) => {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", COMPILE, "--dry-run"],
      clearEnv: true, // DENORT_BIN may be set for the test below
      env: { ...withoutDenort(), ...env },
      cwd: root,
      stdin: "null",
    }).output();
    assert.equal(code, 0);
    return decoder.decode(stdout).trimEnd().split("\n")
      .map((line) => line.match(/^deno compile .*--target (\S+) /)?.[1]);
  };
  assert.deepEqual(await plan({}), TARGETS);
  assert.deepEqual(await plan({ DENORT_BIN: "/denort" }), [Deno.build.target]);
});

/** Each permission flag and the APIs that need it: a flag is baked in if and only if used. */
const NEEDS: ReadonlyArray<readonly [flag: string, uses: RegExp]> = [
  ["--allow-net", /Deno\.(connect|listen)\b|node:(net|http)\b/],
  [
    "--allow-read",
    /Deno\.(readFile|readTextFile|readDir|stat|lstat|open|readLink|realPath|execPath)\b|node:(fs|sqlite)\b/,
  ],
  [
    "--allow-write",
    /Deno\.(writeFile|writeTextFile|mkdir|remove|rename|symlink|copyFile|open)\b|node:(fs|sqlite)\b/,
  ],
  ["--allow-run", /Deno\.(Command|run)\b|node:child_process\b/],
  [
    "--allow-sys",
    /Deno\.(hostname|osRelease|osUptime|loadavg|networkInterfaces|systemMemoryInfo|uid|gid)\b|node:os\b/,
  ],
  ["--allow-ffi", /Deno\.dlopen\b|node:ffi\b/],
];

Deno.test("compile: the baked-in permissions are exactly what the shipped code uses", async () => {
  const sources = await shippedSources();
  for (const [flag, uses] of NEEDS) {
    const users = [...sources].filter(([, source]) => uses.test(source))
      .map(([path]) => path);
    assert.equal(
      PERMISSIONS.includes(flag),
      users.length > 0,
      users.length > 0
        ? `${
          users.join(", ")
        } need ${flag}: add it to PERMISSIONS in cli/compile.ts, saying why`
        : `nothing needs ${flag}: drop it from PERMISSIONS in cli/compile.ts`,
    );
  }
  for (const [path, source] of sources) {
    const env = /(?:Deno\.env\.get\(|process\.env\.?\[?)\s*["']?(\w+)?/g;
    for (const match of source.matchAll(env)) {
      assert.ok(
        match[1] !== undefined && ENV_VARS.includes(match[1]),
        `${path} reads environment variable ${
          match[1] ?? "(computed)"
        }: add it to ENV_VARS in cli/compile.ts`,
      );
    }
    assert.doesNotMatch(
      source,
      /Deno\.env\.toObject/,
      `${path} reads the whole environment`,
    );
  }
});

Deno.test("compile: a base binary deno compile cannot use fails with one clear line", async () => {
  const out = await Deno.makeTempDir({ prefix: "em_dist_" });
  try {
    const result = await run(
      Deno.execPath(),
      ["run", "-A", COMPILE, "--out", out],
      { DENORT_BIN: join(out, "no-such-denort") },
    );
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /\ncompile: Cannot build .+: deno compile could not use DENORT_BIN ".+no-such-denort" as its base binary/,
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(out)), []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("compile: the baked-in permissions suffice for every tool (under deno run)", async () => {
  const em = (args: string[]) =>
    run(Deno.execPath(), ["run", "--quiet", ...PERMISSIONS, MAIN, ...args]);
  await using emd = await startServerProcess(Deno.execPath(), [
    "run",
    "--quiet",
    ...PERMISSIONS,
    MAIN,
    "emd",
    "--free-port",
    "perm",
  ], { cwd: root });
  const host = ["127.0.0.1", emd.port];
  assert.deepEqual(await em(["emwait", ...host, "x", "1"]), {
    code: 2,
    stdout: "timeout\n",
    stderr: "",
  });
  assert.deepEqual(await em(["emtrigger", ...host, "x"]), {
    code: 0,
    stdout: "",
    stderr: "",
  });
  const dir = await Deno.makeTempDir({ prefix: "em_dist_" });
  try {
    const links = await em(["install-links", "--binary", Deno.execPath(), dir]);
    assert.equal(links.code, 0, links.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal((await em(["emquit", ...host, "perm"])).code, 0);
  assert.equal((await emd.exited).code, 0);
});

const DENORT_BIN = Deno.env.get("DENORT_BIN");
const SKIP_REASON =
  "compile: skipping the compiled-binary test: DENORT_BIN is not set, and deno compile needs Deno's runtime base binary (denort), which it downloads from Deno's release host; set DENORT_BIN=/path/to/denort to run it";
if (!DENORT_BIN) {
  // deno-lint-ignore no-console
  console.log(SKIP_REASON);
}

Deno.test({
  name:
    "compile: the host binary runs every tool, under its own name too (needs DENORT_BIN)",
  ignore: !DENORT_BIN,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "em_dist_" });
    try {
      const built = await run(Deno.execPath(), [
        "run",
        "-A",
        COMPILE,
        "--target",
        "host",
        "--out",
        out,
      ]);
      assert.equal(built.code, 0, built.stderr);
      const exe = Deno.build.os === "windows" ? ".exe" : "";
      const em = join(out, "em" + exe);
      const version = await run(em, ["--version"]);
      assert.equal(version.code, 0, version.stderr);
      assert.match(
        version.stdout,
        /^em \d+\.\d+\.\d+\S* \(em protocol 1\.1, 1\.2\)\n$/,
      );
      const links = join(out, "links");
      await Deno.mkdir(links);
      const linked = await run(em, ["install-links", links]); // Deno.execPath() is em itself
      assert.equal(linked.code, 0, linked.stderr);
      const emwait = await run(join(links, "emwait" + exe), ["--version"]);
      assert.match(emwait.stdout, /^emwait /);
      const [emd, emquit] = [[join(out, "emd" + exe)], [
        join(out, "emquit" + exe),
      ]];
      await startAndQuit(emd, emquit);
      if (hasNatsServer()) { // the NATS bus is a dynamic import: it must be in the binary
        await using nats = await startNatsCluster();
        await startAndQuit(emd, emquit, ["--cluster", nats.urls]);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
