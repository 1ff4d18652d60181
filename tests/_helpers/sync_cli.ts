/** Helpers for the sync tools' process tests (emwait --ready-file, emlock, emsem, embarrier). */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { RUN_FLAGS, type ToolResult } from "./cli.ts";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const decoder = new TextDecoder();

/** True where tests may use sh and mkfifo. */
export const POSIX = Deno.build.os !== "windows";

/** A temporary directory, removed on dispose. */
export async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "em_sync_cli_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Makes a FIFO at `path` with mkfifo. */
export async function mkfifo(path: string): Promise<void> {
  const { code } = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(code, 0, `mkfifo ${path} failed`);
}

/** Waits (bounded) until a regular file exists: a tool's --ready-file. */
export async function untilFile(
  path: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await Deno.stat(path);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`${path} did not appear within ${timeoutMs} ms`);
}

/** Settles with `promise`, or rejects saying `what` when `timeoutMs` passes first. */
export async function within<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A tool process whose stdin stays open until `endInput()`: a command it runs (`sh -c 'read x'`)
 * inherits that stdin and so lives until the test lets it go, even if the tool is killed.
 */
export interface HeldProcess extends AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly result: Promise<ToolResult>;
  readonly exited: boolean;
  /** Closes the tool's stdin (idempotent). */
  endInput(): Promise<void>;
}

/** Starts `em <args…>` with an open stdin; disposing ends the input and kills and reaps it. */
export function spawnHeld(args: string[]): HeldProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  let ended: Promise<void> | undefined;
  const endInput = () => ended ??= writer.close().catch(() => {});
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
