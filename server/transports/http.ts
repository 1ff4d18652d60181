import {
  EmError,
  headerHasToken,
  type HttpHead,
  HttpHeadReader,
} from "../../protocol/mod.ts";
import type { HttpHandler } from "./http_handler.ts";
export type { HttpHandler, HttpRequestInfo } from "./http_handler.ts";
import { acceptLoop, closeListener } from "./tcp.ts";
import type { Transport, TransportHost, TransportLog } from "./transport.ts";
import type { Acceptor } from "./tls_listener.ts";
import { writeAll } from "./write_all.ts";

const encoder = new TextEncoder();
const READ_BYTES = 16 * 1024;

/** Takes over a socket whose request head asked for an upgrade (the WebSocket endpoint). */
export type UpgradeHandler = (
  conn: Deno.Conn,
  head: HttpHead,
  rest: Uint8Array,
) => Promise<void>;

/** What the HTTP transport needs besides a {@link TransportHost}. */
export interface HttpTransportOptions {
  /** Handlers asked in order for each plain request. */
  readonly handlers: readonly HttpHandler[];
  /** The WebSocket endpoint's handler, by path (e.g. `/api`). */
  readonly upgrades: ReadonlyMap<string, UpgradeHandler>;
  /** Requests being read or answered count against `maxConnections` with the sessions. */
  readonly connectionCount: () => number;
  /** True when the listener serves TLS (`https:`, `wss:`). */
  readonly tls: boolean;
}

/**
 * HTTP/1.1 on its own port: plain requests go to the registered handlers (one request per
 * connection, then closed); an upgrade to a registered path is handed to its handler. The request
 * head is read by em's own parser: AGL's clients send requests (`Content-Length: 0` on a GET,
 * unmasked frames right after the head) that Deno.serve refuses.
 */
export class HttpTransport implements Transport {
  readonly kind = "http";
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  #listener: Acceptor;
  #host: TransportHost;
  #options: HttpTransportOptions;
  #pending = new Set<Deno.Conn>(); // requests being read or answered
  #tasks = new Set<Promise<void>>();
  #closed = false;
  #log: TransportLog;

  constructor(
    listener: Acceptor,
    host: TransportHost,
    options: HttpTransportOptions,
  ) {
    this.#listener = listener;
    this.#host = host;
    this.#options = options;
    this.#log = host.logger("http");
    this.addr = listener.addr as Deno.NetAddr;
    this.finished = this.#acceptLoop().then(async () => {
      while (this.#tasks.size > 0) await Promise.all(this.#tasks);
    });
  }

  /** Requests being read or answered. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeListener(this.#listener);
    for (const conn of this.#pending) closeConn(conn);
  }

  #acceptLoop(): Promise<void> {
    return acceptLoop(this.#listener, {
      stopped: () => this.#closed || this.#host.stopping,
      accepted: (conn) => {
        const task = this.#serve(conn).finally(() => this.#tasks.delete(task));
        this.#tasks.add(task);
      },
    });
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const peer = peerOf(conn);
    const { maxConnections } = this.#host.serverLimits;
    const busy = this.#options.connectionCount() + this.#pending.size >=
      maxConnections;
    this.#pending.add(conn);
    try {
      if (busy) {
        this.#log.warn("Refused {peer}: too many connections", {
          peer,
          limit: "maxConnections",
          value: maxConnections,
        });
        return await writeResponse(
          conn,
          textResponse(503, "Too many connections"),
        );
      }
      const request = await this.#readHead(conn, peer);
      if (request === undefined) return closeConn(conn);
      const { head, rest } = request;
      const path = head.target.split("?")[0]!;
      const upgrade = this.#options.upgrades.get(path);
      if (
        upgrade !== undefined && headerHasToken(head, "upgrade", "websocket")
      ) {
        this.#pending.delete(conn);
        return await upgrade(conn, head, rest);
      }
      await writeResponse(conn, await this.#answer(head, peer));
    } catch (error) {
      this.#log.warn("Closed {peer}: {reason}", {
        peer,
        reason: `Cannot serve HTTP: ${(error as Error)?.message ?? error}`,
      });
      closeConn(conn);
    } finally {
      this.#pending.delete(conn);
    }
  }

  /** The request head, or undefined (logged) when the peer was slow, closed, or sent nonsense. */
  async #readHead(
    conn: Deno.Conn,
    peer: string,
  ): Promise<{ head: HttpHead; rest: Uint8Array } | undefined> {
    const reader = new HttpHeadReader();
    const buffer = new Uint8Array(READ_BYTES);
    const timeoutMs = this.#host.serverLimits.helloTimeoutMs;
    const timer = setTimeout(() => {
      this.#log.warn("Closed {peer}: {reason}", {
        peer,
        reason: "No HTTP request in time",
        limit: "helloTimeoutMs",
        value: timeoutMs,
      });
      closeConn(conn);
    }, timeoutMs);
    try {
      for (;;) {
        const count = await conn.read(buffer);
        if (count === null) return undefined;
        const done = reader.push(buffer.subarray(0, count));
        if (done !== undefined) return done;
      }
    } catch (error) {
      if (error instanceof EmError) {
        this.#log.warn("Closed {peer}: {reason}", {
          peer,
          reason: error.message,
        });
        await writeResponse(
          conn,
          textResponse(400, `Bad request: ${error.message}`),
        )
          .catch(() => {});
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  async #answer(head: HttpHead, peer: string): Promise<Response> {
    const request = toRequest(head, this.#options.tls);
    if (request === undefined) return textResponse(400, "Bad request");
    for (const handler of this.#options.handlers) {
      const response = await handler(request, { peer });
      if (response !== undefined) return response;
    }
    if (head.target.split("?")[0] === "/api") {
      return textResponse(
        426,
        "Upgrade required: /api is a WebSocket endpoint (subprotocol x-afb-ws-json1)",
        { Upgrade: "websocket" },
      );
    }
    return textResponse(404, "Not found");
  }
}

/** A Request for a parsed head (no body: em's endpoints take none). */
function toRequest(head: HttpHead, tls: boolean): Request | undefined {
  try {
    const host = head.headers.find(([name]) => name === "host")?.[1] ??
      "localhost";
    const url = new URL(head.target, `${tls ? "https" : "http"}://${host}`);
    const method = head.method === "CONNECT" ? "GET" : head.method;
    return new Request(url, {
      method,
      headers: head.headers as [string, string][],
    });
  } catch {
    return undefined;
  }
}

/** A plain-text response. */
export function textResponse(
  status: number,
  text: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(text + "\n", {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...headers },
  });
}

/** Writes a whole response (HTTP/1.1, `Connection: close`) and closes the socket. */
export async function writeResponse(
  conn: Deno.Conn,
  response: Response,
): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  let head = `HTTP/1.1 ${response.status} ${
    response.statusText || STATUS_TEXT[response.status] || "Status"
  }\r\n`;
  for (const [name, value] of response.headers) head += `${name}: ${value}\r\n`;
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  try {
    await writeAll(conn, encoder.encode(head));
    await writeAll(conn, body);
  } finally {
    closeConn(conn);
  }
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  426: "Upgrade Required",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** `host:port` of a socket's peer. */
export function peerOf(conn: Deno.Conn): string {
  const addr = conn.remoteAddr as Deno.NetAddr;
  return `${addr.hostname}:${addr.port}`;
}

/** Closes a socket, tolerating one already closed. */
export function closeConn(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
