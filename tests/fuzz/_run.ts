// Running a fuzz target's cases (the server's many at once, with a health check between batches)
// and minimising a failing case into a regression file.
import type { ServerTarget } from "./_server_target.ts";
import type { Target } from "./_targets.ts";

/** A saved failing case: what fails, how it was found, and the (minimised) case. */
export interface Regression {
  readonly target: string;
  readonly seed: number;
  readonly index: number;
  readonly failure: string;
  readonly case: unknown;
}

/** The first failing case of a run. */
export interface Failure {
  readonly index: number;
  readonly message: string;
  readonly case: unknown;
}

const CONCURRENT = 48; // server cases in flight at once
const HEALTH_EVERY = 1_000; // server cases between checks that a good client is served
const MAX_SHRINK_CHECKS = 2_000;

/** Runs cases 0 to count - 1 of `seed`; resolves with the first failure, if any. */
export async function runCases<C>(
  target: Target<C>,
  seed: number,
  count: number,
  server?: ServerTarget,
): Promise<Failure | undefined> {
  if (server === undefined) {
    for (let index = 0; index < count; index++) {
      const c = target.make(seed, index);
      const message = await target.check(c);
      if (message !== undefined) return { index, message, case: c };
    }
    return undefined;
  }
  for (let first = 0; first < count; first += HEALTH_EVERY) {
    const end = Math.min(first + HEALTH_EVERY, count);
    let next = first;
    let failure: Failure | undefined;
    const worker = async () => {
      while (next < end && failure === undefined) {
        const index = next++;
        const c = target.make(seed, index);
        const message = await target.check(c);
        if (message !== undefined) failure ??= { index, message, case: c };
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT }, worker));
    if (failure !== undefined) return failure;
    const sick = await server.health(String(end));
    if (sick !== undefined) {
      return {
        index: end - 1,
        message: sick,
        case: target.make(seed, end - 1),
      };
    }
  }
  return undefined;
}

/** Tries smaller variants while the case still fails (bounded); returns the regression to save. */
export async function minimise<C>(
  target: Target<C>,
  seed: number,
  failure: Failure,
): Promise<Regression> {
  let current = failure.case as C, message = failure.message, checks = 0;
  let smaller = true;
  while (smaller && checks < MAX_SHRINK_CHECKS) {
    smaller = false;
    for (const candidate of target.shrink(current)) {
      if (++checks > MAX_SHRINK_CHECKS) break;
      const result = await target.check(candidate);
      if (result !== undefined) {
        current = candidate;
        message = result;
        smaller = true;
        break;
      }
    }
  }
  return {
    target: target.name,
    seed,
    index: failure.index,
    failure: message,
    case: current,
  };
}
