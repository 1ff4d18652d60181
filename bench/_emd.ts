/**
 * Starts emd for the benchmark as its own process (`deno run cli/main.ts emd`), the way a user
 * runs it, with the descriptor limit raised to the hard limit where a POSIX shell exists.
 * @module
 */
import { fileURLToPath } from "node:url";
import { reap, withDeadline } from "./_deadline.ts";
import { FFI_FLAG, V8_FLAGS } from "../cli/compile.ts";

const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
/** The Deno flags emd runs with, as `deno task start` starts it (Deno's floor gets the same). */
export const EMD_DENO_FLAGS: readonly string[] = [FFI_FLAG, V8_FLAGS];
const decoder = new TextDecoder();

/** How to start emd. */
export interface EmdOptions {
  /** Output queued per connection before a receiver that does not read is cut off. @default emd's */
  readonly maxQueuedBytes?: number;
  /** Deno flags placed before the script, e.g. `--cpu-prof`. @default [] */
  readonly denoFlags?: readonly string[];
  /** False: without {@link EMD_DENO_FLAGS} (emd as `deno run cli/main.ts emd` starts). @default true */
  readonly defaultFlags?: boolean;
  /** Also listen for HTTP/WebSocket (`--http 0`); its port is `httpPort`. @default false */
  readonly http?: boolean;
  /** Serve TLS with this certificate and key (PEM files). @default plain TCP */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Agent modules to host (`--agent`). @default [] */
  readonly agents?: readonly string[];
}

/** A running emd. */
export interface Emd extends AsyncDisposable {
  readonly port: number;
  /** The HTTP port with `http: true`, else 0. */
  readonly httpPort: number;
  readonly pid: number;
  /** emd's stderr so far (warnings only: it runs with -q). */
  log(): string;
  /** Stops emd (SIGTERM, SIGKILL after 5 s) and waits for it. */
  stop(): Promise<void>;
}

/** The command that runs `args` with the soft descriptor limit raised to the hard one. */
export function raisedLimitCommand(program: string, args: string[]): {
  program: string;
  args: string[];
} {
  if (Deno.build.os === "windows") return { program, args };
  return {
    program: "/bin/sh",
    args: [
      "-c",
      'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"',
      "sh",
      program,
      ...args,
    ],
  };
}

function spawnEmd(options: EmdOptions): Deno.ChildProcess {
  // No per-connection message rate limit (default 1,000,000 a second, burst 50,000,000): a
  // pipelining publisher at S=1 sends 20-35 M messages a second here, and emd would close it for
  // "Too many messages" after the burst, as configured. emd_ref and Redis have no such limit.
  const emdArgs = ["emd", "-q", "--max-messages-per-second", "0"];
  if (options.maxQueuedBytes !== undefined) {
    emdArgs.push("--max-queued-bytes", String(options.maxQueuedBytes));
  }
  if (options.http) emdArgs.push("--http", "0");
  if (options.tls) {
    emdArgs.push(
      "--tls-cert",
      options.tls.certFile,
      "--tls-key",
      options.tls.keyFile,
    );
  }
  for (const agent of options.agents ?? []) emdArgs.push("--agent", agent);
  const { program, args } = raisedLimitCommand(Deno.execPath(), [
    "run",
    "--quiet",
    "--allow-net=127.0.0.1",
    "--allow-env",
    "--allow-read",
    ...(options.defaultFlags === false ? [] : EMD_DENO_FLAGS),
    ...(options.denoFlags ?? []),
    MAIN,
    ...emdArgs,
    "--free-port",
    "bench",
  ]);
  return new Deno.Command(program, {
    args,
    env: { EM_SECRET: "" }, // the benchmark's own emd: a user's secret would lock its clients out
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Starts emd on a free port of 127.0.0.1; resolves once it listens. */
export async function startEmd(options: EmdOptions = {}): Promise<Emd> {
  const child = spawnEmd(options);
  let log = "";
  const stderrDone = (async () => {
    for await (const chunk of child.stderr) {
      log += decoder.decode(chunk, { stream: true });
    }
  })();
  const reader = child.stdout.getReader();
  let port: number, httpPort: number;
  try {
    [port, httpPort] = await withDeadline(
      readPort(reader, options.http ?? false),
      20_000,
      "emd to listen",
    );
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    await stderrDone;
    throw new Error(`${(error as Error).message}\n${log}`);
  }
  const stdoutDone = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await reap(child, 5_000, "SIGTERM");
      await Promise.all([stdoutDone, stderrDone]);
    })();
  return {
    port,
    httpPort,
    pid: child.pid,
    log: () => log,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

async function readPort(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  http: boolean,
): Promise<[number, number]> {
  let out = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("emd exited before listening");
    out += decoder.decode(value);
    const match = out.match(/^listening on [^\s]+:(\d+)/m);
    const web = out.match(/^http listening on [^\s]+:(\d+)/m);
    if (match && (!http || web)) {
      return [Number(match[1]), web ? Number(web[1]) : 0];
    }
  }
}
