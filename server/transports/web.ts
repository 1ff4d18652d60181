import type { HttpHandler } from "./http.ts";
import { HttpTransport, type UpgradeHandler } from "./http.ts";
import type { TransportHost } from "./transport.ts";
import type { Acceptor } from "./tls_listener.ts";
import { afbUpgrade } from "./websocket_upgrade.ts";
import { EM_JS } from "./_em_js.ts";

/** What the web transport needs of the server besides a {@link TransportHost}. */
export interface WebHost extends TransportHost {
  /** Handlers of plain requests, asked in order (read at each request: later additions count). */
  readonly httpHandlers: readonly HttpHandler[];
  /** Open sessions, TCP and WebSocket alike. */
  readonly connectionCount: number;
}

/** The HTTP listener: the routes of {@link WebHost.httpHandlers}, and WebSocket clients on `/api`. */
export function webTransport(
  listener: Acceptor,
  host: WebHost,
): HttpTransport {
  const tls = host.options.tls !== undefined;
  const upgrades = new Map<string, UpgradeHandler>([
    ["/api", afbUpgrade(host, tls)],
  ]);
  const transport = new HttpTransport(listener, host, {
    handlers: [
      serveEmJs,
      (request, info) => firstAnswer(host.httpHandlers, request, info),
    ],
    upgrades,
    connectionCount: () => host.connectionCount,
    tls,
  });
  const { hostname, port } = transport.addr;
  host.logger("http").info("HTTP listening on {hostname}:{port}{security}", {
    hostname,
    port,
    security: tls ? ", TLS" : "",
  });
  return transport;
}

async function firstAnswer(
  handlers: readonly HttpHandler[],
  request: Request,
  info: Parameters<HttpHandler>[1],
): Promise<Response | undefined> {
  for (const handler of handlers) {
    const response = await handler(request, info);
    if (response !== undefined) return response;
  }
  return undefined;
}

/** `GET /em.js`: the browser client, one self-contained ES module. */
function serveEmJs(request: Request): Response | undefined {
  if (new URL(request.url).pathname !== "/em.js") return undefined;
  return new Response(EM_JS, {
    headers: {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "no-cache",
    },
  });
}
