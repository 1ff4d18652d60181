import type { Counters, DisconnectReason } from "./counters.ts";
import { processStats } from "./process_stats.ts";
import {
  type ClusterLinkStats,
  type FeatureStats,
  MAX_LISTED_PEERS,
  NO_SYNC,
  type PeerStats,
  type ServerStats,
} from "./stats.ts";

/** A connection as the report reads it (a `Session`, whatever carries it). */
export interface StatsSession {
  readonly peer: string;
  readonly hello: { readonly minor: number } | undefined;
  readonly receiving: boolean;
  readonly connection: {
    readonly queuedBytes: number;
    /** How the peer reaches emd when not by TCP lines, e.g. "websocket" (a Link's kind). */
    readonly kind?: string;
  };
}

/** What {@link collectStats} reads from a server. */
export interface StatsSource {
  readonly name: string;
  readonly version: string;
  readonly protocols: readonly string[];
  readonly startTimeMs: number;
  readonly addresses: readonly string[];
  readonly counters: Counters;
  readonly sessions: Iterable<StatsSession>;
  /** The features' reports, merged. */
  readonly featureStats: FeatureStats;
  /** The cluster link's figures (a clustered node only). */
  readonly cluster?: ClusterLinkStats;
}

/** The protocol a connection speaks, as `em_connections{protocol}` labels it. */
export function protocolOf(session: StatsSession): string {
  const kind = session.connection.kind;
  if (kind !== undefined && kind !== "tcp") return kind;
  if (session.hello === undefined) return "pending";
  return session.hello.minor >= 2 ? "1.2" : "1.1";
}

/**
 * The server's report, read from its counters and its state as they are now.
 * @param source the server
 * @param detail true to list the connections themselves
 */
export function collectStats(source: StatsSource, detail = false): ServerStats {
  const { counters, featureStats } = source;
  const byProtocol: Record<string, number> = {};
  const peers: PeerStats[] = [];
  let open = 0, receiving = 0;
  for (const session of source.sessions) {
    const protocol = protocolOf(session);
    byProtocol[protocol] = (byProtocol[protocol] ?? 0) + 1;
    open++;
    if (session.receiving) receiving++;
    if (detail && peers.length < MAX_LISTED_PEERS) {
      peers.push({
        peer: session.peer,
        protocol,
        receiving: session.receiving,
        queuedBytes: session.connection.queuedBytes,
      });
    }
  }
  const nowMs = Date.now();
  return {
    server: {
      name: source.name,
      version: source.version,
      protocols: source.protocols,
      startTimeMs: source.startTimeMs,
      uptimeMs: nowMs - source.startTimeMs,
      addresses: source.addresses,
    },
    connections: {
      open,
      byProtocol,
      receiving,
      accepted: counters.accepted,
      ...(detail ? { peers } : {}),
    },
    traffic: {
      triggers: counters.triggers,
      deliveries: counters.deliveries,
      bytesReceived: counters.bytesReceived,
      bytesSent: counters.bytesSent,
    },
    disconnects: Object.fromEntries(counters.disconnects) as Record<
      DisconnectReason,
      number
    >,
    recentDisconnects: [...counters.recentDisconnects],
    calls: Object.fromEntries(counters.calls),
    agents: featureStats.agents ?? [],
    subscriptions: featureStats.subscriptions ?? [],
    sync: featureStats.sync ?? NO_SYNC,
    process: processStats(),
    ...(source.cluster === undefined ? {} : { cluster: source.cluster }),
  };
}
