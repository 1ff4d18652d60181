import { EmError } from "../protocol/mod.ts";

/**
 * Opens a TCP connection, turning Deno's errors into `EmError` "connect" with a clear message.
 * @throws {EmError} code "connect"
 */
export async function openSocket(
  hostname: string,
  port: number,
  signal?: AbortSignal,
): Promise<Deno.TcpConn> {
  const where = `${hostname}:${port}`;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid port "${port}": use 1 to 65535`);
  }
  try {
    const conn = await Deno.connect({ hostname, port, signal });
    conn.setNoDelay(true);
    return conn;
  } catch (error) {
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
  return message.replace(/\s*\(os error \d+\)$/, "").toLowerCase();
}
