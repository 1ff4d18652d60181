/** Helpers to run em's CLI as real processes. */
const MAIN = new URL("../../cli/main.ts", import.meta.url).pathname;
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

/** Runs `em <args…>` to completion. */
export async function runTool(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<ToolResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, MAIN, ...args],
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** A running emd process started on port 0. */
export interface EmdProcess extends AsyncDisposable {
  readonly port: number;
  readonly child: Deno.ChildProcess;
  /** Everything emd wrote on stderr so far (its log). */
  stderr(): string;
  /** Waits for emd to exit; returns its status and full stderr. */
  exited(): Promise<{ code: number; stderr: string }>;
  /** Waits (bounded) until stderr contains `text`. */
  waitForLog(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

/** Starts `emd [flags…] 0 name` and reads its bound port from stdout. */
export async function startEmd(
  name = "t",
  flags: string[] = [],
  extraArgs: string[] = [],
): Promise<EmdProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, MAIN, "emd", ...flags, "0", name, ...extraArgs],
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
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) {
      await stderrDone;
      await child.status;
      throw new Error(`emd exited before listening: ${log}`);
    }
    out += decoder.decode(value);
    const match = out.match(/listening on [^\s]+:(\d+)/);
    if (match) port = Number(match[1]);
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
