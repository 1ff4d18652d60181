import { EmError } from "../protocol/line_codec.ts";

/** How a client reaches a server over TLS. */
export interface ClientTlsOptions {
  /**
   * Certificates (PEM text) of the authorities trusted to sign the server's certificate, instead
   * of the system's.
   */
  readonly caCerts?: readonly string[];
}

/** How {@link openSocket} connects. */
export interface SocketOptions {
  /** Aborting cancels the connect. */
  readonly signal?: AbortSignal;
  /** TLS (true: trusting the system's authorities), or plain TCP when absent or false. */
  readonly tls?: boolean | ClientTlsOptions;
}

/**
 * Opens a TCP (or TLS) connection, turning Deno's errors into `EmError` "connect" with a clear
 * message. With TLS the handshake is done here, so an untrusted certificate fails the connect.
 * @throws {EmError} code "connect"
 */
export async function openSocket(
  address: { readonly hostname: string; readonly port: number },
  options: SocketOptions = {},
): Promise<Deno.Conn> {
  const { hostname, port } = address;
  const { signal, tls } = options;
  const where = `${hostname}:${port}`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid port "${port}": use 1 to 65535`);
  }
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname, port, signal });
    conn.setNoDelay(true);
    if (tls === undefined || tls === false) return conn;
    const caCerts = tls === true ? undefined : tls.caCerts;
    const secure = await Deno.startTls(conn, {
      hostname,
      ...(caCerts === undefined ? {} : { caCerts: [...caCerts] }),
    });
    conn = undefined; // the TLS connection owns the socket now
    try {
      await secure.handshake();
    } catch (error) {
      secure.close();
      throw error;
    }
    return secure;
  } catch (error) {
    conn?.close();
    if (signal?.aborted) throw signal.reason;
    throw new EmError(
      "connect",
      `Cannot connect to "${where}": ${describe(error)}`,
      { cause: error },
    );
  }
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) {
    return "connection refused";
  }
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  const message = (error as Error).message ?? String(error);
  if (
    /failed to lookup|name or service not known|nodename nor servname/i.test(
      message,
    )
  ) {
    return "unknown host";
  }
  if (/certificate|tls|handshake|corrupt message/i.test(message)) {
    return `TLS: ${message.replace(/\s*\(os error \d+\)$/, "")}`;
  }
  return message.replace(/\s*\(os error \d+\)$/, "").toLowerCase();
}
