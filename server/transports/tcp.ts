import { AcceptBackoff } from "../limits.ts";
import type { Transport, TransportHost } from "./transport.ts";
import type { Acceptor } from "./tls_listener.ts";

/** Where a listener binds. */
export interface ListenAddress {
  /** The address to bind. */
  readonly hostname: string;
  /** The port; 0 picks a free one. */
  readonly port: number;
}

/**
 * Binds a TCP listener (TLS listens through tls_listener.ts).
 * @throws {Deno.errors.AddrInUse} when the port is taken
 */
export function listenTcp(where: ListenAddress): Deno.Listener {
  return Deno.listen(where);
}

/**
 * The protocol's own transport: each accepted TCP (or TLS, see tls_listener.ts) socket is a
 * {@link Connection} of lines that the server opens a session over.
 */
export class TcpTransport implements Transport {
  readonly kind = "tcp";
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  #listener: Acceptor;
  #host: TransportHost;
  #closed = false;

  constructor(listener: Acceptor, host: TransportHost) {
    this.#listener = listener;
    this.#host = host;
    this.addr = listener.addr as Deno.NetAddr;
    this.finished = this.#acceptLoop();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeListener(this.#listener);
  }

  #acceptLoop(): Promise<void> {
    return acceptLoop(this.#listener, {
      stopped: () => this.#closed || this.#host.stopping,
      accepted: (conn) => this.#host.open(this.#host.connection(conn)),
    });
  }
}

/** What {@link acceptLoop} asks and tells. */
export interface AcceptHandler {
  /** True once the transport is closing: a failed accept then ends the loop quietly. */
  stopped(): boolean;
  /** A new socket. */
  accepted(conn: Deno.Conn): void;
}

/**
 * Accepts until the listener is closed; a failed accept (e.g. no descriptors left) is retried
 * with {@link AcceptBackoff}'s pauses and log lines.
 */
export async function acceptLoop(
  listener: Pick<Acceptor, "accept">,
  handler: AcceptHandler,
): Promise<void> {
  const backoff = new AcceptBackoff();
  while (!handler.stopped()) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (handler.stopped()) return;
      if (error instanceof Deno.errors.BadResource) return;
      await backoff.failed(error as Error);
      continue;
    }
    backoff.accepted();
    handler.accepted(conn);
  }
}

/** Closes a listener, tolerating one that is already closed. */
export function closeListener(listener: Acceptor): void {
  try {
    listener.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
