import { EventTap } from "./event_tap.ts";

/**
 * Why a connection ended, as counted by `em_disconnects_total{reason}`: closed by the peer, no
 * hello in time, a limit, a receiver too slow for its output, a protocol error, a failed proof of
 * the shared secret, the server stopping, or a read or write error.
 */
export type DisconnectReason =
  | "peer_closed"
  | "hello_timeout"
  | "limit"
  | "slow_receiver"
  | "protocol_error"
  | "auth"
  | "server_stopping"
  | "io_error";

/** Every {@link DisconnectReason}, in the order reports list them. */
export const DISCONNECT_REASONS: readonly DisconnectReason[] = [
  "peer_closed",
  "hello_timeout",
  "limit",
  "slow_receiver",
  "protocol_error",
  "auth",
  "server_stopping",
  "io_error",
];

/** A connection's close as {@link disconnectReason} reads it (a `CloseReason` of connection.ts). */
export interface ClosedAs {
  /** The reason written in the log line. */
  readonly reason: string;
  /** The log record's extra properties: `limit` of a limit hit, `code` of a refusal. */
  readonly properties?: Readonly<Record<string, unknown>>;
}

/** Sorts a close into one {@link DisconnectReason}. */
export function disconnectReason(closed: ClosedAs): DisconnectReason {
  const { limit, code } = closed.properties ?? {};
  if (limit === "helloTimeoutMs") return "hello_timeout";
  if (limit === "maxQueuedBytes") return "slow_receiver";
  if (limit !== undefined) return "limit";
  if (code === "auth") return "auth";
  const { reason } = closed;
  if (reason.startsWith("Peer closed mid-message")) return "protocol_error";
  if (reason.startsWith("Peer closed")) return "peer_closed";
  if (reason.startsWith("Protocol error")) return "protocol_error";
  if (reason.startsWith("Authentication")) return "auth"; // a WebSocket's wrong token
  if (reason.startsWith("Server stopping")) return "server_stopping";
  return "io_error";
}

/** One recent disconnect, for the dashboard and `emstat`. */
export interface DisconnectRecord {
  /** `host:port` (or another transport's peer label). */
  readonly peer: string;
  /** The category counted. */
  readonly kind: DisconnectReason;
  /** The log line's reason. */
  readonly reason: string;
  /** When, in milliseconds since the epoch. */
  readonly atMs: number;
}

/** How many recent disconnects are kept for reports. */
export const RECENT_DISCONNECTS = 20;

/**
 * The running totals of one server. Plain fields, bumped once per read, write or frame (never per
 * byte or per line): the hot path pays an addition, and a scrape reads them as they are.
 */
export class Counters {
  /** Triggers received from clients and agents (plain, with data, latched, agent events). */
  triggers = 0;
  /** Trigger and event messages queued for receivers. */
  deliveries = 0;
  /** Bytes read from peers. */
  bytesReceived = 0;
  /** Bytes written to peers. */
  bytesSent = 0;
  /** Connections accepted since the start. */
  accepted = 0;
  /** Agent calls answered, by outcome: "ok" or the failure code. */
  readonly calls = new Map<string, number>();
  /** Ended connections by reason. */
  readonly disconnects = new Map<DisconnectReason, number>(
    DISCONNECT_REASONS.map((reason) => [reason, 0]),
  );
  /** Watches events pass while someone listens (`emstat --events`, the dashboard). */
  readonly tap: EventTap = new EventTap();
  /** The last {@link RECENT_DISCONNECTS} disconnects, oldest first. */
  readonly recentDisconnects: DisconnectRecord[] = [];

  /** Counts a connection that ended. */
  disconnected(peer: string, closed: ClosedAs, atMs = Date.now()): void {
    const kind = disconnectReason(closed);
    this.disconnects.set(kind, this.disconnects.get(kind)! + 1);
    this.recentDisconnects.push({ peer, kind, reason: closed.reason, atMs });
    if (this.recentDisconnects.length > RECENT_DISCONNECTS) {
      this.recentDisconnects.shift();
    }
  }

  /** Counts an answered agent call: `outcome` is "ok" or the failure code. */
  called(outcome: string): void {
    this.calls.set(outcome, (this.calls.get(outcome) ?? 0) + 1);
  }
}
