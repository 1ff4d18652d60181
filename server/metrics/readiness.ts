/**
 * One condition for `/readyz`: undefined while it holds, else why not (one line, e.g. "not
 * connected to the cluster"). Checks run at every probe, so they read state, never wait.
 */
export type ReadinessCheck = () => string | undefined;

/** What `/readyz` answers: ready, or the first reason it is not. */
export interface ReadinessState {
  /** True when every check holds. */
  readonly ready: boolean;
  /** "ready", or the reason of the first check that failed. */
  readonly reason: string;
}

/**
 * The conditions under which emd is ready to serve: the server's own (listening, not stopping)
 * and any a capability adds, e.g. the cluster's "connected to it" (`server.readiness.add(…)`).
 */
export class Readiness {
  #checks = new Map<string, ReadinessCheck>();

  /**
   * Adds a named check; a second check of that name replaces the first.
   * @returns a disposable that removes it
   */
  add(name: string, check: ReadinessCheck): Disposable {
    this.#checks.set(name, check);
    return {
      [Symbol.dispose]: () => {
        if (this.#checks.get(name) === check) this.#checks.delete(name);
      },
    };
  }

  /** Runs the checks in the order added; a check that throws counts as failed. */
  state(): ReadinessState {
    for (const [name, check] of this.#checks) {
      let reason: string | undefined;
      try {
        reason = check();
      } catch (error) {
        reason = `${name}: ${(error as Error)?.message ?? error}`;
      }
      if (reason !== undefined) return { ready: false, reason };
    }
    return { ready: true, reason: "ready" };
  }
}
