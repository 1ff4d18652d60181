import { isValidName } from "../protocol/mod.ts";
import type { EmServer } from "./em_server.ts";
import type { ServerOptions } from "./server_options.ts";
import { Server } from "./server.ts";
import { checkAgents } from "./agents/agents_feature.ts";
import { resolveLimits } from "./limits.ts";
import { Authenticator } from "./auth.ts";
import { listenTcp } from "./transports/tcp.ts";
import type { Acceptor } from "./transports/tls_listener.ts";

/**
 * Starts an em server.
 * @param options name, port, hostname and limits
 * @returns the running server
 * @throws {TypeError} for an invalid name
 * @throws {RangeError} for an invalid port or limit
 * @throws {Deno.errors.AddrInUse} when the port is taken
 * @throws {TypeError} for two agents with one API name (an agent's failed `init` rejects)
 */
export function startServer(options: ServerOptions): Promise<EmServer> {
  if (!isValidName(options.name)) {
    throw new TypeError(
      `Invalid server name "${options.name}": use [A-Za-z0-9_]+`,
    );
  }
  const port = options.port ?? 4000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid port "${port}": use 0 to 65535`);
  }
  checkAgents(options.agents ?? []);
  const limits = resolveLimits(options);
  const auth = options.secret === undefined
    ? undefined
    : new Authenticator(options.secret);
  const where = { hostname: options.hostname ?? "127.0.0.1", port };
  const httpWhere = httpAddress(where.hostname, options);
  const start = (listener: Acceptor, http: Acceptor | undefined) =>
    ready(new Server(listener, options, { limits, auth, http }));
  const tls = options.tls;
  if (tls === undefined) { // bound synchronously: a port in use throws at once
    const listener = listenTcp(where);
    let http: Acceptor | undefined;
    try {
      http = httpWhere && listenTcp(httpWhere);
    } catch (error) {
      listener.close();
      throw error;
    }
    return start(listener, http);
  }
  // node:tls only for TLS
  return import("./transports/tls_listener.ts").then(async ({ listenTls }) => {
    const listener = await listenTls(where, tls);
    let http: Acceptor | undefined;
    try { // https and wss on the same kind of listener: TCP_NODELAY, silent peers dropped
      http = httpWhere && await listenTls(httpWhere, tls);
    } catch (error) {
      listener.close();
      throw error;
    }
    return start(listener, http);
  });
}

/**
 * Where the HTTP listener binds, when asked for.
 * @throws {RangeError} for an invalid port
 */
function httpAddress(
  hostname: string,
  options: ServerOptions,
): { hostname: string; port: number } | undefined {
  if (options.http === undefined) return undefined;
  const { port } = options.http;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid HTTP port "${port}": use 0 to 65535`);
  }
  return { hostname, port };
}

async function ready(server: Server): Promise<EmServer> {
  try {
    await server.ready;
  } catch (error) {
    await server.close("start failed");
    throw error;
  }
  return server;
}
