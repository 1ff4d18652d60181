/** Deadlines for the benchmark's waits: nothing in a run may hang. @module */

/** Settles like `promise`, or rejects once `ms` have passed, naming `what` was awaited. */
export async function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Gave up waiting for ${what} after ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` (a measurement pause, never a synchronisation). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Sends `signal` to `child` (if given), then waits for it to exit, killing it (SIGKILL) once
 * `graceMs` have passed: a process of the benchmark never outlives its run.
 */
export async function reap(
  child: Deno.ChildProcess,
  graceMs: number,
  signal?: Deno.Signal,
): Promise<Deno.CommandStatus> {
  const kill = (how: Deno.Signal) => {
    try {
      child.kill(how);
    } catch { /* already exited */ }
  };
  if (signal !== undefined) kill(signal);
  const killer = setTimeout(() => kill("SIGKILL"), graceMs);
  try {
    return await child.status;
  } finally {
    clearTimeout(killer);
  }
}
