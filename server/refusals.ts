import type { Link } from "./link.ts";
import { closeForLimit } from "./limits.ts";
import type { Counters } from "./metrics/counters.ts";

/** Refused connections still being told why; past this, more are closed without a word. */
const MAX_REFUSED_CLOSING = 64;

/** Connections refused past maxConnections: each is told why, then closed. */
export class Refusals {
  #refused = new Set<Link>(); // told "too many connections", closing
  #counters: Counters;
  #track: (task: Promise<void>) => void;

  /** @param track called with each refused connection's closing, for the server's stop to await */
  constructor(counters: Counters, track: (task: Promise<void>) => void) {
    this.#counters = counters;
    this.#track = track;
  }

  /** Past maxConnections: an `e` line, then closed (at once when many refusals are pending). */
  refuse(connection: Link, max: number): void {
    closeForLimit(connection, "maxConnections", max, "Too many connections");
    this.#counters.disconnected(connection.peer, connection.closeReason!);
    if (this.#refused.size >= MAX_REFUSED_CLOSING) {
      return connection.close("Too many connections");
    }
    this.#refused.add(connection);
    this.#track(
      connection.readLoop(() => {}).then(() => {
        this.#refused.delete(connection);
      }),
    );
  }

  /** The server is stopping: close those still being told. */
  close(): void {
    for (const connection of this.#refused) connection.close("Server stopping");
  }
}
