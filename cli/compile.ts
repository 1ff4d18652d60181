/**
 * `deno task compile`: builds em's single binary with `deno compile`, one per platform, and the
 * tool links. Not part of the binary itself.
 *
 * ```sh
 * deno task compile                  # dist/em-<target> for every target, dist/em + links for this host
 * deno task compile --target host    # only dist/em + links
 * deno task compile --dry-run        # print the deno compile commands
 * ```
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { err, EXIT, out } from "./_tool.ts";
import { installLinks } from "./install_links.ts";
import { TOOLS } from "./main.ts";

/** The platforms a release ships, as `deno compile --target` names them. */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** Environment variables the tools read; the binary may read these and no others. */
export const ENV_VARS: readonly string[] = [
  "EM_SECRET",
  "EM_SERVER",
  "EM_CLUSTER_PASSWORD",
];

/**
 * emd writes to a socket with libc's `send(2)` when it may (server/send_now.ts): one trigger
 * reaches 10 000 receivers about twice as fast as through Deno's asynchronous write op
 * (docs/PERFORMANCE.md). FFI is used for that one function only; without the flag emd writes as
 * before. `deno task start` and the benchmark's emd run with it too.
 */
export const FFI_FLAG = "--allow-ffi";

/**
 * The permissions baked into the binary, and why each is needed. No `-A`, no sys.
 * Read and write are unscoped because their paths come from the command line at run time
 * (`emtail FILE`, `emd --data DIR`, `em install-links DIR`; install-links also needs full read
 * and write for `Deno.symlink` and read for `Deno.execPath()`).
 */
export const PERMISSIONS: readonly string[] = [
  "--allow-net", // every tool: connect to or listen on the host:port given
  "--allow-read",
  "--allow-write",
  `--allow-env=${ENV_VARS.join(",")}`, // EM_SECRET: the shared secret, never on argv; EM_SERVER: the default server; EM_CLUSTER_PASSWORD: the NATS password of emd --cluster
  "--allow-run", // emlock, emsem: run the command given after "--" while holding
  FFI_FLAG,
];

/**
 * V8 favours memory over speed: 40 % less RSS per idle connection for emd, fan-out throughput
 * unchanged (docs/PERFORMANCE.md, "Memory per idle connection"). `deno task start` and the
 * benchmark's emd run with it too.
 */
export const V8_FLAGS = "--v8-flags=--optimize-for-size";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const MAIN = "cli/main.ts";
/** Loads the NATS bus of `emd --cluster` by a dynamic import (passed to `--include`). */
const OPEN_BUS = "server/delivery/open_bus.ts";

/** One `deno compile` run. */
export interface CompileStep {
  readonly target: string;
  readonly output: string;
  /** Arguments after `deno`. */
  readonly args: readonly string[];
}

/**
 * Modules a file of `dir` loads with `import("./x.ts")` (cli/main.ts its tools, open_bus.ts the
 * NATS bus): each is passed to `--include`, so the binary has them even if deno compile's own
 * analysis of dynamic imports changed.
 */
export function lazyModules(source: string, dir = "cli"): string[] {
  return [...source.matchAll(/import\(\s*"\.\/([^"]+\.ts)"\s*\)/g)]
    .map((match) => `${dir}/${match[1]}`);
}

/** The binary's file name for a target: `em-<target>`, `.exe` on Windows. */
export function binaryName(target: string): string {
  return `em-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/** The `deno compile` command for one target, relative to the repository root. */
export function compileStep(
  target: string,
  outDir: string,
  includes: readonly string[],
): CompileStep {
  const output = join(outDir, binaryName(target));
  return {
    target,
    output,
    args: [
      "compile",
      ...PERMISSIONS,
      V8_FLAGS,
      ...includes.flatMap((module) => ["--include", module]),
      "--target",
      target,
      "--output",
      output,
      MAIN,
    ],
  };
}

const USAGE =
  `Usage: deno task compile [--target TARGET]… [--out DIR] [--dry-run]

Builds DIR/em-<target> (default DIR: dist) for each TARGET, then DIR/em for this
host with links named after every tool (emd, emwait, …).
TARGET: all (default), host, or one of:
  ${TARGETS.join("\n  ")}
DENORT_BIN, when set, is the runtime base binary deno compile uses instead of
downloading one: it is this host's, so only the host target is built.`;

/** Parses the task's arguments, builds, and returns the exit code. */
export async function compile(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: "string", multiple: true },
        out: { type: "string", default: "dist" },
        "dry-run": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    err(`compile: ${(error as Error).message}\n${USAGE}`);
    return EXIT.USAGE;
  }
  if (values.help) return out(USAGE), EXIT.OK;
  const targets = chooseTargets(values.target ?? []);
  if (typeof targets === "string") {
    err(`compile: ${targets}\n${USAGE}`);
    return EXIT.USAGE;
  }
  const includes = [
    ...lazyModules(await Deno.readTextFile(join(ROOT, MAIN))),
    ...lazyModules(
      await Deno.readTextFile(join(ROOT, OPEN_BUS)),
      "server/delivery",
    ),
  ];
  const outDir = resolve(ROOT, values.out);
  const steps = targets.map((target) => compileStep(target, outDir, includes));
  if (values["dry-run"]) {
    for (const step of steps) out(["deno", ...step.args].join(" "));
    return EXIT.OK;
  }
  await Deno.mkdir(outDir, { recursive: true });
  const denort = Deno.env.get("DENORT_BIN");
  if (denort !== undefined) {
    out(`compile: base binary from DENORT_BIN=${denort}`);
  }
  for (const step of steps) {
    if (!await runStep(step)) return EXIT.FAILURE;
  }
  const host = steps.find((step) => step.target === Deno.build.target);
  if (host !== undefined) await installHost(host.output, outDir);
  return EXIT.OK;
}

/** The targets asked for, or a usage error. */
function chooseTargets(asked: string[]): string[] | string {
  const hostOnly = Deno.env.get("DENORT_BIN") !== undefined;
  const names = asked.length === 0 ? [hostOnly ? "host" : "all"] : asked;
  const targets = new Set<string>();
  for (const name of names) {
    if (name === "all") TARGETS.forEach((target) => targets.add(target));
    else if (name === "host") targets.add(Deno.build.target);
    else if (TARGETS.includes(name)) targets.add(name);
    else return `unknown target "${name}"`;
  }
  const foreign = [...targets].filter((t) => t !== Deno.build.target);
  if (hostOnly && foreign.length > 0) {
    return `DENORT_BIN is a base binary for this host (${Deno.build.target}), not for ${
      foreign.join(", ")
    }: unset it to download theirs`;
  }
  return [...targets];
}

/** Runs one deno compile; on failure prints why, plainly when the base binary was unreachable. */
async function runStep(step: CompileStep): Promise<boolean> {
  out(`compile: ${step.output} (${step.target})`);
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [...step.args],
    cwd: ROOT,
    stdin: "null",
    stdout: "inherit",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stderr);
  if (code === 0) return true;
  Deno.stderr.writeSync(stderr);
  const denort = Deno.env.get("DENORT_BIN");
  const baseBinary = /base binary|denort/i.test(text);
  if (baseBinary && denort !== undefined) {
    err(
      `compile: Cannot build ${step.output}: deno compile could not use DENORT_BIN "${denort}" as its base binary (see above)`,
    );
  } else if (baseBinary) {
    err(
      `compile: Cannot build ${step.output}: deno compile could not get Deno's runtime base binary (denort) for ${step.target}, which it downloads from Deno's release host; this machine cannot reach it. Run where that host is reachable, or set DENORT_BIN to a denort binary for this host and build --target host`,
    );
  } else {
    err(`compile: Cannot build ${step.output}: deno compile exited ${code}`);
  }
  return false;
}

/** Copies the host's build to DIR/em and links every tool name to it. */
async function installHost(built: string, dir: string): Promise<void> {
  const em = join(dir, Deno.build.os === "windows" ? "em.exe" : "em");
  await Deno.copyFile(built, em);
  const names = Object.keys(TOOLS).filter((name) => name !== "install-links");
  // symlinks need privileges on Windows: copies work everywhere
  const copy = Deno.build.os === "windows";
  for (
    const line of await installLinks(em, dir, names, { copy, force: true })
  ) {
    out(`compile: ${line}`);
  }
}

if (import.meta.main) {
  process.exitCode = await compile(Deno.args);
}
