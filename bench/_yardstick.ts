/**
 * The outside yardstick (`../shared/bench`): builds its C programs into a directory of ours,
 * starts emd, emd_ref and Redis on 127.0.0.1 with the yardstick's settings, runs its load
 * generator and `wallrun`, and reads their `RESULT` / `wall_ms` lines. Nothing of the yardstick
 * is copied into this repository; it is only built and run.
 * @module
 */
import { fileURLToPath } from "node:url";
import { EMD_DENO_FLAGS, raisedLimitCommand, startEmd } from "./_emd.ts";
import { reap, withDeadline } from "./_deadline.ts";
import { type ProcessLog, spawnLogged } from "./_process_log.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const decoder = new TextDecoder();

/** Where the yardstick is: `path`, else `../shared/bench` from the repository (or its parent). */
export function findYardstick(path?: string): string | undefined {
  const candidates = path === undefined
    ? [`${REPO}../shared/bench`, `${REPO}../../shared/bench`]
    : [path];
  return candidates.find((dir) => {
    try {
      return Deno.statSync(`${dir}/loadgen.c`).isFile;
    } catch {
      return false;
    }
  });
}

/** Runs a program to its end (bounded); returns exit code and output. */
export async function runProgram(
  program: string,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const command = raisedLimitCommand(program, args);
  const child = new Deno.Command(command.program, {
    args: command.args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const [{ code, stdout, stderr }] = await Promise.all([
    child.output(),
    reap(child, timeoutMs),
  ]);
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** Builds loadgen, emd_ref, emtrigger_ref and wallrun from `yardstick` into `dir` with gcc. */
export async function buildYardstick(
  yardstick: string,
  dir: string,
): Promise<void> {
  for (const name of ["loadgen", "emd_ref", "emtrigger_ref", "wallrun"]) {
    const { code, stderr } = await runProgram("gcc", [
      "-O2",
      "-Wall",
      "-o",
      `${dir}/${name}`,
      `${yardstick}/${name}.c`,
    ]);
    if (code !== 0) throw new Error(`Cannot build ${name}: ${stderr.trim()}`);
  }
}

/** True when `program` runs (found on PATH). */
export async function hasProgram(program: string): Promise<boolean> {
  try {
    return (await runProgram(program, ["--version"], 10_000)).code === 0;
  } catch {
    return false;
  }
}

/** A server under test. */
export interface Target {
  /** Row name: emd, emd_ref, redis. */
  readonly label: string;
  /** Protocol for the load generator: em or redis. */
  readonly proto: "em" | "redis";
  readonly port: number;
  readonly pid: number;
  /** Stops it and starts a fresh one on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** How {@link processTarget} knows its server listens. */
interface Bound {
  /** What the server prints once it listens (its port in group 1 with `choosesPort`). */
  readonly says: RegExp;
  /** True when it takes port 0 and prints the port it bound; else a free port is picked for it. */
  readonly choosesPort?: boolean;
}

/** Starts tried when the picked port was taken meanwhile by another process. */
const PORT_TRIES = 5;

/**
 * A C, Redis or Deno server process of ours, restartable on the same port. It counts as started
 * when it says it listens (not when something answers on the port: that may be another process).
 * A server that cannot choose its port gets a free one; if another process took it meanwhile
 * (`Address already in use`), another one, a few times.
 */
async function processTarget(
  label: string,
  proto: "em" | "redis",
  argv: (port: number) => [string, string[]],
  bound: Bound,
): Promise<Target> {
  let port = bound.choosesPort ? 0 : freePort();
  let child: Deno.ChildProcess;
  let log: ProcessLog;
  const stop = async () => {
    await reap(child, 5_000, "SIGTERM");
    await log.ended;
  };
  const start = async () => {
    for (let attempt = 1;; attempt++) {
      const [program, args] = argv(port);
      const command = raisedLimitCommand(program, args);
      ({ child, log } = spawnLogged(command.program, command.args));
      try {
        const said = await log.match(bound.says, `${label} listening`, 10_000);
        if (port === 0) port = Number(said[1]);
        return;
      } catch (error) {
        await stop();
        const taken = /address already in use/i.test(log.text);
        if (!taken || attempt === PORT_TRIES) throw error;
        port = freePort();
      }
    }
  };
  await start();
  return {
    label,
    proto,
    get port() {
      return port;
    },
    get pid() {
      return child.pid;
    },
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
}

/** emd as `deno task bench` runs it, behind the Target interface. */
export async function emdTarget(): Promise<Target> {
  let emd = await startEmd();
  return {
    label: "emd",
    proto: "em",
    get port() {
      return emd.port;
    },
    get pid() {
      return emd.pid;
    },
    restart: async () => {
      await emd.stop();
      emd = await startEmd(); // a new port: every workload reads `port` afresh
    },
    stop: () => emd.stop(),
  };
}

/**
 * Deno's floor (bench/_floor_server.ts: a bare Deno server, one pending read per socket, one
 * write per receiver and delivery), run with the same Deno flags as emd: the least a Deno server
 * can cost, printed beside emd in the conns rows.
 */
export function floorTarget(): Promise<Target> {
  const floor = fileURLToPath(new URL("./_floor_server.ts", import.meta.url));
  return processTarget("deno_floor", "em", (port) => [Deno.execPath(), [
    "run",
    "--quiet",
    "--allow-net=127.0.0.1",
    ...EMD_DENO_FLAGS,
    floor,
    String(port),
  ]], { says: /listening on 127\.0\.0\.1:(\d+)/, choosesPort: true });
}

/** emd_ref as the yardstick's peers.sh starts it. */
export function emdRefTarget(buildDir: string): Promise<Target> {
  return processTarget(
    "emd_ref",
    "em",
    (port) => [`${buildDir}/emd_ref`, ["-a", "127.0.0.1", "-p", String(port)]],
    { says: /emd_ref: listening on/ },
  );
}

/** redis-server as the yardstick's peers.sh starts it (nothing written to disk). */
export function redisTarget(dir: string): Promise<Target> {
  return processTarget("redis", "redis", (port) => [
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      "--maxclients",
      "15000",
      "--dir",
      dir,
    ],
  ], { says: /Ready to accept connections/ });
}

/** One `RESULT key=value …` line as a record (numbers where they parse). */
export type ResultLine = Record<string, string | number>;

/** Parses the `RESULT` line in loadgen's output, if any. */
export function parseResult(output: string): ResultLine | undefined {
  const line = output.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) return undefined;
  const record: ResultLine = {};
  for (const pair of line.slice(7).trim().split(/\s+/)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    const text = pair.slice(eq + 1);
    const value = Number(text);
    record[pair.slice(0, eq)] = text !== "" && Number.isFinite(value)
      ? value
      : text;
  }
  return record;
}

/** Runs loadgen once against `target`; returns the RESULT record and the raw line. */
export async function loadgen(
  buildDir: string,
  target: Target,
  args: string[],
): Promise<{ result: ResultLine | undefined; raw: string; stderr: string }> {
  const { stdout, stderr } = await withDeadline(
    runProgram(`${buildDir}/loadgen`, [
      ...args,
      "-P",
      target.proto,
      "-H",
      "127.0.0.1",
      "-p",
      String(target.port),
      "-x",
      String(target.pid),
      "-L",
      target.label,
    ]),
    130_000,
    `loadgen ${args[0]} against ${target.label}`,
  );
  const raw = stdout.split("\n").find((l) => l.startsWith("RESULT ")) ?? "";
  return { result: parseResult(stdout), raw, stderr: stderr.trim() };
}

/** `wallrun`'s figures for one command: wall ms min/median/max. */
export async function wallrun(
  buildDir: string,
  runs: number,
  command: string[],
): Promise<{ min: number; median: number; max: number; raw: string }> {
  const { stdout, stderr } = await runProgram(`${buildDir}/wallrun`, [
    "-n",
    String(runs),
    "-w",
    "1",
    "--",
    ...command,
  ], 300_000);
  const match = stdout.match(
    /wall_ms min=([\d.]+) median=([\d.]+) max=([\d.]+)/,
  );
  if (!match) {
    throw new Error(`wallrun ${command[0]}: no figures: ${stdout}${stderr}`);
  }
  return {
    min: Number(match[1]),
    median: Number(match[2]),
    max: Number(match[3]),
    raw: stdout.trim(),
  };
}

/** redis-server on PATH, installing the Debian package when it is missing and we may. */
export async function ensureRedis(
  say: (line: string) => void,
): Promise<boolean> {
  if (await hasProgram("redis-server")) return true;
  say("redis-server missing: apt-get install -y redis-server");
  const install = await runProgram(
    "apt-get",
    ["install", "-y", "redis-server"],
    300_000,
  ).catch(() => ({ code: 1, stderr: "apt-get not available" }));
  if (install.code !== 0) say(`cannot install redis-server: ${install.stderr}`);
  return await hasProgram("redis-server");
}

/** Versions and machine state for the record. */
export async function versions(): Promise<string[]> {
  const line = async (program: string, args: string[]) =>
    (await runProgram(program, args, 10_000).catch(() => ({ stdout: "–" })))
      .stdout.split("\n")[0]!.trim();
  return [
    `date: ${new Date().toISOString()}`,
    `deno: ${Deno.version.deno}`,
    `redis: ${await line("redis-server", ["--version"])}`,
    `gcc: ${await line("gcc", ["--version"])}`,
    `cpus: ${navigator.hardwareConcurrency}, load: ${Deno.loadavg().join(" ")}`,
  ];
}
