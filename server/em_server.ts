import type { ServerStats } from "./metrics/stats.ts";
import type { Readiness } from "./metrics/readiness.ts";

/** A running emd. */
export interface EmServer extends AsyncDisposable {
  /** The address it listens on (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** The server's name. */
  readonly name: string;
  /** Settles with the reason once the server has stopped (quit, close, signal). */
  readonly finished: Promise<string>;
  /** The HTTP listener's address, when started with `http`. */
  readonly httpAddr: Deno.NetAddr | undefined;
  /** Open connections. */
  readonly connectionCount: number;
  /**
   * What the server is doing: connections, traffic, disconnects, agents, sync state, process.
   * @param detail true to list the connections themselves
   */
  stats(detail?: boolean): ServerStats;
  /**
   * When the server is ready to serve (`/readyz`): listening and not stopping, plus the checks
   * added here (a cluster adds "connected to it").
   */
  readonly readiness: Readiness;
  /** Closes every connection and the listener; resolves once all are closed. Idempotent. */
  close(reason?: string): Promise<void>;
}
