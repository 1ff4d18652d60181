import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus.ts";
import type { Readiness } from "./readiness.ts";
import type { ServerStats } from "./stats.ts";
import { DASHBOARD_HTML, DASHBOARD_SCRIPT } from "./dashboard_page.ts";
import { tokenEquals } from "../transports/afb_link.ts";

/** What the observability endpoints read from the server. */
export interface ObservedServer {
  /** The server's report. */
  stats(detail?: boolean): ServerStats;
  /** Whether it is ready to serve. */
  readonly readiness: Readiness;
  /** The shared secret: with one, every endpoint but `/healthz` asks for it as a bearer token. */
  readonly secret?: string | Uint8Array;
}

const PATHS = new Set([
  "/metrics",
  "/healthz",
  "/readyz",
  "/",
  "/dashboard.js",
]);

/**
 * Answers `GET /metrics`, `/healthz`, `/readyz`, the dashboard `/` and its `/dashboard.js`; any
 * other path is not ours (undefined). With a shared secret, all but `/healthz` and the static
 * script need it as a bearer token: `Authorization: Bearer <secret>`, or `?token=<secret>` where
 * a browser cannot send a header (docs/OBSERVABILITY.md).
 */
export function observabilityResponse(
  request: Request,
  server: ObservedServer,
): Response | undefined {
  const url = new URL(request.url);
  if (!PATHS.has(url.pathname)) return undefined;
  if (request.method !== "GET" && request.method !== "HEAD") {
    return text(405, "Method not allowed: use GET", { Allow: "GET, HEAD" });
  }
  if (url.pathname === "/healthz") return text(200, "ok");
  if (url.pathname === "/dashboard.js") { // static code, no data: a page can load it as is
    return new Response(DASHBOARD_SCRIPT, {
      headers: {
        "Content-Type": "text/javascript; charset=utf-8",
        ...NO_STORE,
      },
    });
  }
  if (!authorized(request, url, server.secret)) {
    return text(401, "Unauthorized: give the shared secret as a bearer token", {
      "WWW-Authenticate": 'Bearer realm="emd"',
    });
  }
  switch (url.pathname) {
    case "/readyz": {
      const { ready, reason } = server.readiness.state();
      return text(ready ? 200 : 503, reason);
    }
    case "/metrics":
      return new Response(renderPrometheus(server.stats()), {
        headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE, ...NO_STORE },
      });
    default:
      return new Response(DASHBOARD_HTML, {
        headers: {
          "Content-Type": "text/html; charset=utf-8",
          "Content-Security-Policy":
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
          ...NO_STORE,
        },
      });
  }
}

const NO_STORE = { "Cache-Control": "no-store" };

function text(
  status: number,
  body: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(body + "\n", {
    status,
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      ...NO_STORE,
      ...headers,
    },
  });
}

/** True without a secret, or when the request presents it (compared in constant time). */
function authorized(
  request: Request,
  url: URL,
  secret: string | Uint8Array | undefined,
): boolean {
  if (secret === undefined) return true;
  const header = request.headers.get("Authorization") ?? "";
  const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
  const token = bearer ?? url.searchParams.get("token");
  return token !== null && tokenEquals(token, secret);
}
