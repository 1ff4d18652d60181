import { EmError } from "../protocol/mod.ts";

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
    let timer: ReturnType<typeof setTimeout> | undefined;
    let withdraw = (): void => {};
    let done = false;
    const finish = (outcome: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
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
      timer = setTimeout(() => finish(() => resolve(false)), timeoutMs);
    }
  });
}

/** Rejects with an `EmError` "timeout" when `promise` takes longer than `timeoutMs`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new EmError("timeout", `${what}: no answer within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
