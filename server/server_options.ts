import type { Agent } from "./agents/agent.ts";
import type { LimitOptions } from "./limits.ts";
import type { SyncStore } from "./sync/store.ts";
import type { HttpHandler } from "./transports/http_handler.ts";
import type { ClusterOptions } from "./delivery/cluster_options.ts";

/** Options of {@link startServer}; the limits are described in {@link LimitOptions}. */
export interface ServerOptions extends LimitOptions {
  /** The server's name: a quit must give it. `[A-Za-z0-9_]+`. */
  readonly name: string;
  /**
   * TCP port; 0 picks a free one (read it from `addr`).
   * @default {4000}
   */
  readonly port?: number;
  /**
   * Address to listen on. Beyond loopback without a `secret`, anyone who can reach it may trigger
   * events and stop the server (a warning is logged).
   * @default {"127.0.0.1"}
   */
  readonly hostname?: string;
  /**
   * Agents to host (1.2): each serves the verbs `api/…` and makes events `api/…`.
   * @default {[]}
   */
  readonly agents?: readonly Agent[];
  /**
   * Largest message offered to 1.2 peers in the hello (`m` option); 1.1 peers keep 4096 bytes.
   * @default {524288}
   */
  readonly maxMessageBytes?: number;
  /**
   * Where latched events and leases are kept (1.2 sync): {@link openSqliteStore} keeps them across
   * restarts. The caller closes it after the server has stopped.
   * @default {memoryStore()}
   */
  readonly syncStore?: SyncStore;
  /**
   * Sync holds, waiting acquires, and (counted apart) barrier arrivals one connection may have;
   * one more is refused (`EmError` code "refused").
   * @default {10000}
   */
  readonly maxSyncPerConnection?: number;
  /**
   * Leases the server keeps at most; one more is refused.
   * @default {100000}
   */
  readonly maxLeases?: number;
  /**
   * A shared secret: every connection must prove it knows it in its hello before anything else
   * it sends is handled (docs/SECURITY.md). 1.1 clients cannot authenticate.
   */
  readonly secret?: string | Uint8Array;
  /**
   * Whether a client may stop the server with a quit (`Q`); false refuses every quit (logged).
   * @default {true}
   */
  readonly remoteQuit?: boolean;
  /** Serve TLS instead of plain TCP, with this certificate chain and private key (PEM text). */
  readonly tls?: ServerTlsOptions;
  /**
   * The version reports give (`em_build_info`, `emstat`); emd gives its own.
   * @default {"unknown"}
   */
  readonly version?: string;
  /**
   * An HTTP listener beside the TCP one (same host, same server state): the WebSocket endpoint
   * `/api` (x-afb-ws-json1), `/em.js`, and the routes features add. With `tls`, HTTPS and `wss:`.
   * @default {undefined}
   */
  readonly http?: ServerHttpOptions;
  /**
   * Join a cluster of emd nodes over NATS (docs/CLUSTER.md); absent, this emd is on its own and
   * never loads the NATS packages.
   * @default {undefined}
   */
  readonly cluster?: ClusterOptions;
}

/** The HTTP listener of a server. */
export interface ServerHttpOptions {
  /** Its port; 0 picks a free one (read it from `httpAddr`). */
  readonly port: number;
  /**
   * Origins besides the server's own whose pages may open a WebSocket to it
   * (e.g. `"https://app.example"`); requests without an `Origin` (non-browsers) are allowed.
   * @default {[]}
   */
  readonly allowOrigins?: readonly string[];
  /**
   * Handlers of plain requests, asked in order after the server's own (first answer wins; none: 404).
   * @default {[]}
   */
  readonly handlers?: readonly HttpHandler[];
}

/** The certificate and key of a TLS server, both PEM text. */
export interface ServerTlsOptions {
  /** The server's certificate chain, PEM. */
  readonly cert: string;
  /** The certificate's private key, PEM. */
  readonly key: string;
}
