import type { Connection } from "../connection.ts";
import type { Link } from "../link.ts";
import type { ServerLimits } from "../limits.ts";
import type { ServerOptions } from "../server_options.ts";

/**
 * One way into emd (TCP lines, HTTP and WebSocket…): it listens, accepts, and hands each new peer
 * to the server as a {@link Link}. The server core knows transports only through this interface.
 */
export interface Transport {
  /** What it is, for log lines: `"tcp"`, `"http"`. */
  readonly kind: string;
  /** The address it listens on (the real port when 0 was asked). */
  readonly addr: Deno.NetAddr;
  /** Settles once the transport has stopped accepting and released what it holds itself. */
  readonly finished: Promise<void>;
  /** Stops listening; peers it still holds that are not sessions yet are closed. Idempotent. */
  close(): void;
}

/** What a transport may use of the server. */
export interface TransportHost {
  /** The options the server was started with. */
  readonly options: ServerOptions;
  /** The server's limits, defaults filled in. */
  readonly serverLimits: ServerLimits;
  /** True once the server is stopping: accept nothing more. */
  readonly stopping: boolean;
  /**
   * Wraps an accepted socket with the server's output limit (times `queueScale`, for a transport
   * whose encoding of an event is that many times larger than its line) and flow control.
   */
  connection(conn: Deno.Conn, queueScale?: number): Connection;
  /** A logger of one part of the server, e.g. `logger("http")` → em.server.http. */
  logger(part: string): TransportLog;
  /** Opens a session over a new link, or refuses it (stopping, too many connections). */
  open(link: Link): void;
}

/** Where a transport logs (LogTape's `Logger` fits). */
export interface TransportLog {
  /** Logs an informational record. */
  info(message: string, properties?: Record<string, unknown>): void;
  /** Logs a warning. */
  warn(message: string, properties?: Record<string, unknown>): void;
}
