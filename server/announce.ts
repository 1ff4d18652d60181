import { serverLogger } from "./_log.ts";

const log = serverLogger();

/** What the start's log line says about a listening server. */
export interface Announcement {
  /** The server's name. */
  readonly name: string;
  /** True when it speaks TLS. */
  readonly tls: boolean;
  /** True when a shared secret is required. */
  readonly secret: boolean;
}

/** Logs where the server listens, with a warning when anyone who can reach it may use it. */
export function announceListening(
  addr: Deno.NetAddr,
  { name, tls, secret }: Announcement,
): void {
  const { hostname, port } = addr;
  log.info("Listening on {hostname}:{port} as {name}{security}", {
    hostname,
    port,
    name,
    security: (tls ? ", TLS" : "") + (secret ? ", shared secret required" : ""),
  });
  if (!secret && !isLoopback(hostname)) {
    log.warn(
      "Listening on {hostname}:{port} WITHOUT A SHARED SECRET: anyone who can reach it can trigger events and stop the server. Give a secret (--secret-file or EM_SECRET) or listen on 127.0.0.1",
      { hostname, port },
    );
  }
}

/** True for an address only this machine can reach. */
export function isLoopback(hostname: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
    hostname === "::1" || hostname === "localhost";
}
