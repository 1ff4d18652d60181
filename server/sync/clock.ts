/** Time as the sync state machines see it: injectable, so tests can expire leases without sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once `now()` has reached `atMs`; returns a function that cancels it. */
  at(atMs: number, callback: () => void): () => void;
}

/** Longest delay one `setTimeout` can wait; later deadlines are reached in several steps. */
const MAX_DELAY_MS = 2_147_483_647;

/** The real clock: `Date.now()` and `setTimeout`. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  at(atMs: number, callback: () => void): () => void {
    let timer: ReturnType<typeof setTimeout>;
    const arm = (): void => {
      const delay = atMs - Date.now();
      if (delay > MAX_DELAY_MS) {
        timer = setTimeout(arm, MAX_DELAY_MS);
      } else timer = setTimeout(callback, Math.max(0, delay));
    };
    arm();
    return () => clearTimeout(timer);
  },
});
