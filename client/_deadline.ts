import { EmError } from "../protocol/line_codec.ts";

/** Options of anything that waits. */
export interface WaitOptions {
  /**
   * Give up after this many milliseconds; negative or absent waits forever.
   * @default {-1}
   */
  readonly timeoutMs?: number;
  /** Aborting rejects the wait with `signal.reason`. */
  readonly signal?: AbortSignal;
}

/**
 * Runs `start`, which calls `settle` when the awaited thing happens and returns its withdrawal.
 * Resolves true when settled, false on timeout; rejects with `signal.reason` on abort or with what
 * `fail` was given. Timers and listeners are cleared in every case.
 */
export function untilSettled(
  start: (settle: () => void, fail: (error: Error) => void) => () => void,
  options: WaitOptions = {},
): Promise<boolean> {
  const { timeoutMs = -1, signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<boolean>((resolve, reject) => {
    let cancelTimer = (): void => {};
    let withdraw = (): void => {};
    let done = false;
    const finish = (outcome: () => void): void => {
      if (done) return;
      done = true;
      cancelTimer();
      signal?.removeEventListener("abort", onAbort);
      withdraw();
      outcome();
    };
    const onAbort = (): void => finish(() => reject(signal!.reason));
    withdraw = start(
      () => finish(() => resolve(true)),
      (error) => finish(() => reject(error)),
    );
    if (done) return withdraw(); // settled at once: nothing to arm
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs >= 0) {
      cancelTimer = startTimer(timeoutMs, () => finish(() => resolve(false)));
    }
  });
}

/** Rejects with an `EmError` "timeout" when `promise` takes longer than `timeoutMs`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let cancelTimer = (): void => {};
  const timeout = new Promise<never>((_, reject) => {
    cancelTimer = startTimer(
      timeoutMs,
      () =>
        reject(
          new EmError("timeout", `${what}: no answer within ${timeoutMs} ms`),
        ),
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    cancelTimer();
  }
}

/**
 * Calls `fire` after `ms` unless the returned function is called first. Built on
 * `AbortSignal.timeout`, not `setTimeout`: Deno's global `setTimeout` loads its Node timers on first
 * use, 5–9 ms of a one-shot tool's start. The timer keeps the process alive until it fires, even
 * once cancelled; {@link startUnrefTimer} does not.
 */
export function startTimer(ms: number, fire: () => void): () => void {
  const signal = AbortSignal.timeout(ms);
  signal.addEventListener("abort", fire, { once: true });
  return () => signal.removeEventListener("abort", fire);
}

/**
 * Like {@link startTimer}, but the timer does not keep the process alive: use it only to bound a
 * wait that pending I/O keeps alive (a socket read). It is `Atomics.waitAsync`'s timeout, the
 * JavaScript engine's own timer, which costs nothing on first use where `AbortSignal.timeout` and
 * its event listener cost a fresh process about 1 ms (docs/PERFORMANCE.md, "One-shot start-up,
 * third session"). `ms` ≤ 0 takes {@link startTimer}, which fires on a later turn of the event loop.
 */
export function startUnrefTimer(ms: number, fire: () => void): () => void {
  if (!(ms > 0)) return startTimer(ms, fire);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  let cancelled = false;
  const wait = Atomics.waitAsync(cell, 0, 0, ms); // cell[0] stays 0: only the timeout ends it
  if (wait.async) {
    wait.value.then((outcome) => {
      if (outcome === "timed-out" && !cancelled) fire();
    });
  }
  return () => {
    cancelled = true;
    Atomics.notify(cell, 0); // ends the wait now ("ok"): the engine forgets it
  };
}
