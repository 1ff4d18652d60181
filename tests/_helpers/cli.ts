import { fileURLToPath } from "node:url";
import { PERMISSIONS } from "../../cli/compile.ts";
export { closedPort } from "./ports.ts";

/** Helpers to run em's CLI as real processes. */
const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const decoder = new TextDecoder();

/** Deno flags every CLI test run uses. */
export const RUN_FLAGS = [
  "run",
  "--quiet",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];

/** Output of a finished tool. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to start a tool process. */
export interface ToolOptions {
  /** Text written to stdin, then closed; stdin is null without it (or `holdStdin`). */
  stdin?: string;
  /**
   * Keep stdin open (and empty) until `endInput()`: a command the tool runs (`cat`) inherits it
   * and so lives until the test lets it go, even if the tool itself is killed.
   */
  holdStdin?: boolean;
  /** Environment variables added to the inherited ones (EM_SECRET and EM_SERVER are cleared unless given). */
  env?: Record<string, string>;
  /**
   * The program to start instead of `Deno.execPath()`, e.g. a symlink to deno named `emwait`
   * (its basename becomes argv0, so cli/main.ts dispatches on it).
   */
  executable?: string;
}

/**
 * The environment a tool or emd starts with: the inherited one, without a developer's own EM_SERVER or
 * EM_SECRET (an empty value counts as unset), plus the test's variables.
 */
export function toolEnv(
  env: Record<string, string> = {},
): Record<string, string> {
  return { EM_SECRET: "", EM_SERVER: "", ...env };
}

/** A tool process running in the background. */
export interface ToolProcess extends AsyncDisposable {
  readonly child: Deno.ChildProcess;
  /** Settles with the tool's whole output once it has exited. */
  readonly result: Promise<ToolResult>;
  /** True once the process has exited. */
  readonly exited: boolean;
  /** Closes a held stdin (`holdStdin`); idempotent, nothing otherwise. */
  endInput(): Promise<void>;
}

/** Starts `em <args…>` in the background; disposing kills it if still running and reaps it. */
export function spawnTool(
  args: string[],
  options: ToolOptions = {},
): ToolProcess {
  const child = new Deno.Command(options.executable ?? Deno.execPath(), {
    args: [...RUN_FLAGS, MAIN, ...args],
    stdin: options.stdin === undefined && !options.holdStdin ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: toolEnv(options.env),
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    void writer.write(new TextEncoder().encode(options.stdin))
      .then(() => writer.close())
      .catch(() => {/* the tool exited without reading: its result tells */});
  }
  let ended: Promise<void> | undefined;
  const endInput = () =>
    ended ??= options.holdStdin
      ? child.stdin.close().catch(() => {})
      : Promise.resolve();
  let exited = false;
  const result = child.output().then(({ code, stdout, stderr }) => {
    exited = true;
    return {
      code,
      stdout: decoder.decode(stdout),
      stderr: decoder.decode(stderr),
    };
  });
  return {
    child,
    result,
    get exited() {
      return exited;
    },
    endInput,
    async [Symbol.asyncDispose]() {
      await endInput();
      if (!exited) {
        try {
          child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
      }
      await result;
    },
  };
}

/** Runs a program to completion with no input; its output as text. */
export async function runProgram(
  program: string,
  options: Omit<Deno.CommandOptions, "stdin" | "stdout" | "stderr"> = {},
): Promise<ToolResult> {
  const { code, stdout, stderr } = await new Deno.Command(program, {
    ...options,
    stdin: "null",
  }).output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** Runs `em <args…>` to completion. */
export function runTool(
  args: string[],
  options: ToolOptions = {},
): Promise<ToolResult> {
  return spawnTool(args, options).result;
}

/**
 * Writes `dir/deno_nofile.sh`, which runs deno with at most `limit` open files (`ulimit -n`), for
 * {@link startEmd}'s `executable`: emd then runs out of descriptors after a few dozen connections.
 */
export async function lowNofileDeno(dir: string, limit = 96): Promise<string> {
  const script = `${dir}/deno_nofile.sh`;
  await Deno.writeTextFile(
    script,
    `#!/bin/sh\nulimit -n ${limit} || exit 99\nexec "${Deno.execPath()}" "$@"\n`,
  );
  await Deno.chmod(script, 0o755);
  return script;
}

/** Opens `count` TCP connections to `port` on 127.0.0.1, one after another, into `peers`. */
export async function connectMany(
  port: number,
  count: number,
  peers: Deno.TcpConn[],
): Promise<void> {
  for (let i = 0; i < count; i++) {
    peers.push(await Deno.connect({ hostname: "127.0.0.1", port }));
  }
}
/** A running emd process started with --free-port (a port the system picks). */
export interface EmdProcess extends AsyncDisposable {
  readonly port: number;
  /** The HTTP port, when started with `--http 0` (else 0). */
  readonly httpPort: number;
  readonly child: Deno.ChildProcess;
  /** Everything emd wrote on stderr so far (its log). */
  stderr(): string;
  /** Waits for emd to exit; returns its status and full stderr. */
  exited(): Promise<{ code: number; stderr: string }>;
  /** Waits (bounded) until stderr contains `text`. */
  waitForLog(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Starts `emd [flags…] --free-port name` and reads its bound port from stdout; `options.executable` starts
 * it through another program (e.g. a shell script that lowers a limit, then runs deno).
 */
export async function startEmd(
  name = "t",
  flags: string[] = [],
  extraArgs: string[] = [],
  options: Pick<ToolOptions, "env" | "executable"> = {},
): Promise<EmdProcess> {
  const child = new Deno.Command(options.executable ?? Deno.execPath(), {
    args: [
      ...RUN_FLAGS,
      MAIN,
      "emd",
      ...flags,
      "--free-port",
      name,
      ...extraArgs,
    ],
    env: toolEnv(options.env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const listeners = new Set<() => void>();
  const stderrDone = (async () => {
    for await (const chunk of child.stderr) {
      log += decoder.decode(chunk, { stream: true });
      for (const listener of listeners) listener();
    }
  })();
  const reader = child.stdout.getReader();
  let out = "";
  let port = 0, httpPort = 0;
  const wantsHttp = flags.some((flag, i) =>
    flag === "--http" && flags[i + 1] === "0"
  );
  while (port === 0 || (wantsHttp && httpPort === 0)) {
    const { value, done } = await reader.read();
    if (done) {
      await stderrDone;
      await child.status;
      throw new Error(`emd exited before listening: ${log}`);
    }
    out += decoder.decode(value);
    const match = out.match(/^listening on [^\s]+:(\d+)/m);
    if (match) port = Number(match[1]);
    const http = out.match(/^http listening on [^\s]+:(\d+)/m);
    if (http) httpPort = Number(http[1]);
  }
  const stdoutDone = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  let status: Promise<{ code: number; stderr: string }> | undefined;
  const exited = () =>
    status ??= (async () => {
      const { code } = await child.status;
      await Promise.all([stdoutDone, stderrDone]);
      return { code, stderr: log };
    })();
  return {
    port,
    httpPort,
    child,
    stderr: () => log,
    exited,
    waitForLog(text, timeoutMs = 10_000) {
      const has = () =>
        typeof text === "string" ? log.includes(text) : text.test(log);
      if (has()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `emd log never showed ${text} within ${timeoutMs} ms:\n${log}`,
            ),
          );
        }, timeoutMs);
        const check = () => {
          if (!has()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
      });
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      await exited();
    },
  };
}

/** What a shell example printed: its exit code, its stdout as lines, its stderr. */
export interface ScriptResult {
  code: number;
  lines: string[];
  stderr: string;
}

/**
 * Runs the POSIX shell example `examples/ci/<name>` from the repository's root, with `EM` set to
 * em under exactly the compiled binary's permissions, `WAIT_MS` to `waitMs`, and no EM_SECRET.
 */
export async function runExampleScript(
  name: string,
  waitMs: number,
): Promise<ScriptResult> {
  const root = new URL("../../", import.meta.url);
  const em = [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, MAIN];
  const { code, stdout, stderr } = await new Deno.Command("sh", {
    args: [fileURLToPath(new URL(`examples/ci/${name}`, root))],
    env: toolEnv({ EM: em.join(" "), WAIT_MS: String(waitMs) }),
    cwd: root,
    stdin: "null",
  }).output();
  return {
    code,
    lines: decoder.decode(stdout).trimEnd().split("\n"),
    stderr: decoder.decode(stderr),
  };
}

/** A server process (emd under any name) that printed `listening on HOST:PORT`. */
export interface ListeningProcess extends AsyncDisposable {
  /** The port it printed, as text. */
  readonly port: string;
  /** Settles once it has exited, with its exit code and whole stderr. */
  readonly exited: Promise<{ code: number; stderr: string }>;
}

/**
 * Starts `program args…` (an emd started by any route: a compiled binary, a task, an installed
 * script) and reads its `listening on HOST:PORT` line; disposing sends SIGTERM and waits.
 * @throws {Error} with its stderr when it exits before listening
 */
export async function startServerProcess(
  program: string,
  args: string[],
  options: { cwd?: string | URL; env?: Record<string, string> } = {},
): Promise<ListeningProcess> {
  const child = new Deno.Command(program, {
    args,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: toolEnv(options.env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let match: RegExpMatchArray | null = null;
  while (match === null) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    match = text.match(/listening on [^\s]+:(\d+)\n/);
  }
  const stdout = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  const exited = Promise.all([child.status, stdout, stderr]).then((
    [status, , err],
  ) => ({ code: status.code, stderr: err }));
  if (match === null) {
    const { stderr } = await exited;
    throw new Error(`${program} exited before listening: ${stderr}`);
  }
  return {
    port: match[1]!,
    exited,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* exited already */ }
      await exited;
    },
  };
}
