import type { DisconnectReason, DisconnectRecord } from "./counters.ts";

/** One connection as reports list it. */
export interface PeerStats {
  /** `host:port` of the peer. */
  readonly peer: string;
  /** How it speaks: "1.1", "1.2", "websocket", or "pending" before its hello. */
  readonly protocol: string;
  /** True when it receives triggers (flag F1): a waiter. */
  readonly receiving: boolean;
  /** Output bytes queued for it and not yet written. */
  readonly queuedBytes: number;
}

/** One event of an agent and its subscribers. */
export interface AgentEventStats {
  /** The event's full name, `api/name`. */
  readonly name: string;
  /** Receivers subscribed to it (patterns not counted). */
  readonly subscribers: number;
}

/** A hosted agent as reports list it. */
export interface AgentStats {
  /** The API name. */
  readonly api: string;
  /** Its verbs, without the `api/` prefix. */
  readonly verbs: readonly string[];
  /** Its events. */
  readonly events: readonly AgentEventStats[];
}

/** A name or pattern subscription and how many receivers hold it. */
export interface SubscriptionStats {
  /** The name or pattern. */
  readonly pattern: string;
  /** Receivers holding it. */
  readonly receivers: number;
}

/** One hold of a semaphore. */
export interface HolderStats {
  /** The holding peer, or "lease" for a lease (its holder may be gone). */
  readonly holder: string;
  /** Permits held. */
  readonly count: number;
  /** True for a lease. */
  readonly lease: boolean;
}

/** One waiting acquire. */
export interface WaiterStats {
  /** The waiting peer. */
  readonly peer: string;
  /** Permits asked for. */
  readonly count: number;
}

/** One semaphore (a lock is a semaphore of 1 permit) with holders and its queue. */
export interface SemaphoreStats {
  /** Its name. */
  readonly name: string;
  /** Its permits. */
  readonly permits: number;
  /** Permits held in all. */
  readonly held: number;
  /** Its holds. */
  readonly holders: readonly HolderStats[];
  /** Waiting acquires, first in line first. */
  readonly queue: readonly WaiterStats[];
}

/** A barrier with waiting parties. */
export interface BarrierStats {
  /** Its name. */
  readonly name: string;
  /** Parties it waits for. */
  readonly parties: number;
  /** Peers waiting at it. */
  readonly waiting: readonly string[];
}

/** The sync state: latches, semaphores and locks, leases, barriers. */
export interface SyncStats {
  /** Latched events. */
  readonly latches: readonly string[];
  /** Semaphores and locks that have holds or waiters. */
  readonly semaphores: readonly SemaphoreStats[];
  /** Leases held. */
  readonly leases: number;
  /** Barriers with waiting parties. */
  readonly barriers: readonly BarrierStats[];
}

/** What the server's features add to a report (see `Feature.report`). */
export interface FeatureStats {
  /** Hosted agents. */
  readonly agents?: readonly AgentStats[];
  /** Name and pattern subscriptions (`s`). */
  readonly subscriptions?: readonly SubscriptionStats[];
  /** Sync state. */
  readonly sync?: SyncStats;
}

/** The process's own figures (the standard `process_*` metrics). */
export interface ProcessStats {
  /** Resident memory, bytes. */
  readonly residentMemoryBytes: number;
  /** User and system CPU time, seconds. */
  readonly cpuSecondsTotal: number;
  /** Open file descriptors; absent where they cannot be counted (no /proc, no read permission). */
  readonly openFds?: number;
  /** When the process started, seconds since the epoch. */
  readonly startTimeSeconds: number;
}

/** Who the server is. */
export interface ServerInfo {
  /** The server's name. */
  readonly name: string;
  /** Its version (`ServerOptions.version`). */
  readonly version: string;
  /** Protocols spoken, e.g. ["1.1", "1.2"]. */
  readonly protocols: readonly string[];
  /** When it started, milliseconds since the epoch. */
  readonly startTimeMs: number;
  /** Milliseconds since it started. */
  readonly uptimeMs: number;
  /** Where it listens, e.g. ["tcp 127.0.0.1:4000"]. */
  readonly addresses: readonly string[];
}

/** The connections of a server. */
export interface ConnectionStats {
  /** Open connections. */
  readonly open: number;
  /** Open connections by protocol ("1.1", "1.2", "websocket", "pending"). */
  readonly byProtocol: Readonly<Record<string, number>>;
  /** Connections receiving triggers (flag F1): the waiters. */
  readonly receiving: number;
  /** Connections accepted since the start. */
  readonly accepted: number;
  /** The connections themselves, when asked for (`detail`), at most {@link MAX_LISTED_PEERS}. */
  readonly peers?: readonly PeerStats[];
}

/** What passed through a server since its start. */
export interface TrafficStats {
  /** Triggers received from clients and agents (plain, with data, latched, agent events). */
  readonly triggers: number;
  /** Trigger and event messages queued for receivers. */
  readonly deliveries: number;
  /** Bytes read from peers. */
  readonly bytesReceived: number;
  /** Bytes written to peers. */
  readonly bytesSent: number;
}

/** The link of a clustered emd to the other nodes (absent for one emd). */
export interface ClusterLinkStats {
  /** True while the link to the NATS cluster is up. */
  readonly connected: boolean;
  /** Times the link came back after dropping. */
  readonly reconnects: number;
  /** Deliveries this node published to the other nodes. */
  readonly deliveriesOut: number;
  /** Deliveries from other nodes that reached this node. */
  readonly deliveriesIn: number;
}

/**
 * Everything emd reports about itself, as JSON: the answer of `emd/stats`, the source of
 * `/metrics`, `emstat` and the dashboard (docs/PROTOCOL.md, "1.2: the emd API").
 */
export interface ServerStats {
  /** Who the server is. */
  readonly server: ServerInfo;
  /** Its connections. */
  readonly connections: ConnectionStats;
  /** What passed. */
  readonly traffic: TrafficStats;
  /** Ended connections by reason, since the start. */
  readonly disconnects: Readonly<Record<DisconnectReason, number>>;
  /** The last disconnects, oldest first. */
  readonly recentDisconnects: readonly DisconnectRecord[];
  /** Answered agent calls by outcome: "ok" or the failure code. */
  readonly calls: Readonly<Record<string, number>>;
  /** Hosted agents (emd's own not listed). */
  readonly agents: readonly AgentStats[];
  /** Name and pattern subscriptions. */
  readonly subscriptions: readonly SubscriptionStats[];
  /** Sync state. */
  readonly sync: SyncStats;
  /** The process's figures. */
  readonly process: ProcessStats;
  /** The link to the other nodes of a cluster (`emd --cluster` only). */
  readonly cluster?: ClusterLinkStats;
}

/** Connections listed in a detailed report at most. */
export const MAX_LISTED_PEERS = 500;

/** The sync state of a server without the sync feature. */
export const NO_SYNC: SyncStats = Object.freeze({
  latches: [],
  semaphores: [],
  leases: 0,
  barriers: [],
});
