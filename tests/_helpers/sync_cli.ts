/** Helpers for the sync tools' process tests (emwait --ready-file, emlock, emsem, embarrier). */
import assert from "node:assert/strict";
import { runTool, spawnTool, type ToolProcess } from "./cli.ts";

/** What a tool that succeeded quietly printed. */
export const OK = { code: 0, stdout: "", stderr: "" };

/** What a tool that timed out printed (exit 2, "timeout" on stdout). */
export const TIMEOUT = { code: 2, stdout: "timeout\n", stderr: "" };

/** True where tests may use sh and mkfifo. */
export const POSIX = Deno.build.os !== "windows";

/** A command that does nothing and exits 0, for emlock and emsem to run anywhere. */
export const NOOP: readonly string[] = POSIX
  ? ["true"]
  : [Deno.execPath(), "eval", ""];

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

/** `emlock --acquire` of a 10-minute lease of `name` at `at` (host, port): its token. */
export async function acquireLease(
  at: readonly string[],
  name: string,
): Promise<string> {
  const acquired = await runTool(
    ["emlock", "--acquire", "--ttl", "600000", ...at, name],
  );
  assert.equal(acquired.code, 0, acquired.stderr);
  assert.match(acquired.stdout, /^\S+\n$/);
  return acquired.stdout.trim();
}

/** `emlock --release` of the lease `token` of `name` succeeds, and `name` is free at once. */
export async function releaseFrees(
  at: readonly string[],
  name: string,
  token: string,
): Promise<void> {
  assert.deepEqual(
    await runTool(["emlock", "--release", ...at, name, token]),
    OK,
  );
  assert.deepEqual(
    await runTool(["emlock", "--timeout", "0", ...at, name, "--", ...NOOP]),
    OK,
  );
}

/**
 * An emlock holding `name` at `at` (host, port) while its command (`sh -c "read x"`) waits for
 * input: resolves once it holds (its --ready-file `ready`); ending its input releases the lock.
 */
export async function holdingEmlock(
  at: readonly string[],
  name: string,
  ready: string,
): Promise<ToolProcess> {
  const holder = spawnTool(
    ["emlock", "--ready-file", ready, ...at, name, "--", "sh", "-c", "read x"],
    { holdStdin: true },
  );
  try {
    await untilFile(ready);
  } catch (error) {
    await holder[Symbol.asyncDispose]();
    throw error;
  }
  return holder;
}
