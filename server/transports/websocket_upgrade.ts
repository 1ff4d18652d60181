import {
  AFB_SUBPROTOCOL,
  DEFAULT_MAX_MESSAGE_BYTES,
  headerHasToken,
  headerValue,
  type HttpHead,
  MAX_LINE_BYTES,
  WS_ACCEPT_GUID,
} from "../../protocol/mod.ts";
import { AfbLink, tokenEquals } from "./afb_link.ts";
import { textResponse, type UpgradeHandler, writeResponse } from "./http.ts";
import type { TransportHost } from "./transport.ts";
import { writeAll } from "./write_all.ts";

const encoder = new TextEncoder();
/**
 * A plain trigger's afb event frame is about 8 times its `T<name>` line (`[5,"x",{"jtype":
 * "afb-event","event":"x","data":null}]`): a WebSocket client may queue that many times
 * `maxQueuedBytes`, so that a burst a TCP receiver takes does not cut it off.
 */
const QUEUE_SCALE = 8;

/**
 * The WebSocket endpoint: checks an upgrade request (method, subprotocol x-afb-ws-json1, Origin,
 * token), answers 101, and opens a session over an {@link AfbLink}; anything else is refused with
 * an HTTP status saying why, and one log line.
 */
export function afbUpgrade(host: TransportHost, tls: boolean): UpgradeHandler {
  const log = host.logger("websocket");
  return async (conn, head, rest) => {
    const peer = `ws ${peerOf(conn)}`;
    const refusal = checkUpgrade(head, tls, host);
    if (refusal !== undefined) {
      log.warn("Refused {peer}: {reason}", { peer, reason: refusal.reason });
      return await writeResponse(conn, refusal.response);
    }
    const secret = host.options.secret;
    const token = tokenOf(head);
    const authorized = secret !== undefined && token !== undefined &&
      tokenEquals(token, secret);
    if (secret !== undefined && token !== undefined && !authorized) {
      log.warn("Refused {peer}: {reason}", { peer, reason: "wrong token" });
      return await writeResponse(
        conn,
        textResponse(401, "Unauthorized: wrong token"),
      );
    }
    await writeAll(conn, encoder.encode(await switching(head)));
    const link = new AfbLink(host.connection(conn, QUEUE_SCALE), rest, {
      maxMessageBytes: Math.max(
        MAX_LINE_BYTES,
        host.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      ),
      secret,
      authorized,
      agentApis: host.options.cluster === undefined // a cluster's other nodes host more APIs
        ? new Set((host.options.agents ?? []).map((agent) => agent.api))
        : undefined,
      log,
    });
    host.open(link);
  };
}

/** Why an upgrade request is refused, or undefined to accept it. */
function checkUpgrade(
  head: HttpHead,
  tls: boolean,
  host: TransportHost,
): { reason: string; response: Response } | undefined {
  const refuse = (status: number, text: string, headers = {}) => ({
    reason: text,
    response: textResponse(status, text, headers),
  });
  if (head.method !== "GET") return refuse(405, "Method not allowed: use GET");
  if (!headerHasToken(head, "connection", "upgrade")) {
    return refuse(400, "Bad request: no Connection: Upgrade");
  }
  const version = headerValue(head, "sec-websocket-version");
  if (version !== undefined && version.trim() !== "13") {
    return refuse(426, `Unsupported WebSocket version "${version}": use 13`, {
      "Sec-WebSocket-Version": "13",
    });
  }
  if (!headerValue(head, "sec-websocket-key")) {
    return refuse(400, "Bad request: no Sec-WebSocket-Key");
  }
  if (!headerHasToken(head, "sec-websocket-protocol", AFB_SUBPROTOCOL)) {
    return refuse(
      400,
      `Bad request: no subprotocol emd speaks (offer ${AFB_SUBPROTOCOL})`,
    );
  }
  const origin = headerValue(head, "origin");
  if (origin !== undefined && !originAllowed(origin, head, tls, host)) {
    return refuse(
      403,
      `Forbidden: pages from origin "${origin}" may not connect (emd --http-allow-origin)`,
    );
  }
  return undefined;
}

/** The server's own origin (scheme and the Host the browser used), or one listed. */
function originAllowed(
  origin: string,
  head: HttpHead,
  tls: boolean,
  host: TransportHost,
): boolean {
  const wanted = origin.toLowerCase();
  const own = `${tls ? "https" : "http"}://${headerValue(head, "host") ?? ""}`;
  if (wanted === own.toLowerCase()) return true;
  return (host.options.http?.allowOrigins ?? []).some((allowed) =>
    allowed.toLowerCase() === wanted
  );
}

/** The token of an upgrade: `token` or `x-afb-token` query parameter, or a bearer header. */
export function tokenOf(head: HttpHead): string | undefined {
  const query = new URLSearchParams(head.target.split("?")[1] ?? "");
  const fromQuery = query.get("token") ?? query.get("x-afb-token");
  if (fromQuery !== null) return fromQuery;
  const authorization = headerValue(head, "authorization");
  const bearer = authorization?.match(/^Bearer\s+(\S+)$/i);
  return bearer?.[1];
}

/** The 101 response, spelled as AGL's clients require it. */
async function switching(head: HttpHead): Promise<string> {
  const key = (headerValue(head, "sec-websocket-key") ?? "").trim();
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + WS_ACCEPT_GUID),
  );
  const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
  return "HTTP/1.1 101 Switching Protocols\r\n" +
    "Upgrade: websocket\r\n" +
    "Connection: Upgrade\r\n" +
    `Sec-WebSocket-Accept: ${accept}\r\n` +
    `Sec-WebSocket-Protocol: ${AFB_SUBPROTOCOL}\r\n\r\n`;
}

function peerOf(conn: Deno.Conn): string {
  const addr = conn.remoteAddr as Deno.NetAddr;
  return `${addr.hostname}:${addr.port}`;
}
