/** How a link ended, as logged. */
export interface CloseReason {
  /** What happened, for the log line. */
  readonly reason: string;
  /** True when the peer misbehaved (logged as a warning). */
  readonly fault: boolean;
  /** The log record's extra properties, e.g. `{ limit, value }` of a limit hit. */
  readonly properties?: Readonly<Record<string, unknown>>;
}

/** How {@link Link.closeAfterFlush} ends a connection. */
export interface CloseOptions {
  /**
   * True when the peer misbehaved (logged as a warning).
   * @default {false}
   */
  readonly fault?: boolean;
  /**
   * More properties for the close's log record, e.g. `{ limit, value }` of a limit hit.
   * @default {{}}
   */
  readonly properties?: Readonly<Record<string, unknown>>;
}

/**
 * How a peer reaches emd, as sessions see it: a stream of protocol lines in and out. A TCP (or TLS)
 * connection is one; a transport that speaks another wire format (server/transports/) implements
 * it by translating, so sessions, core and features never ask which transport a peer came by.
 */
export interface Link {
  /** Who the peer is, for log lines: `"127.0.0.1:5123"`, `"ws 127.0.0.1:5124"`. */
  readonly peer: string;
  /** How the peer came: `"tcp"` (lines), `"websocket"` (x-afb-ws-json1); for reports only. */
  readonly kind: string;
  /** Why the link closed, once it has; undefined while open. */
  readonly closeReason: CloseReason | undefined;
  /** True once {@link close} (or {@link closeAfterFlush}) has run. */
  readonly isClosed: boolean;
  /** Output bytes queued for the peer and not yet written. */
  readonly queuedBytes: number;
  /** Settles once, with the reason, when the link is closed. */
  readonly closed: Promise<CloseReason>;
  /**
   * Queues protocol lines (each `\n`-ended) for the peer; never waits. The same bytes may be
   * handed to many links: the link must not change them.
   */
  send(lines: Uint8Array): void;
  /** Closes once, logging the reason; later calls do nothing. */
  close(
    reason: string,
    fault?: boolean,
    properties?: Readonly<Record<string, unknown>>,
  ): void;
  /** Closes once, after writing what is queued and then `lastLines` (e.g. an `e` line saying why). */
  closeAfterFlush(
    lastLines: Uint8Array,
    reason: string,
    options?: CloseOptions,
  ): void;
  /**
   * Hands the peer's input, as protocol lines, to `onChunk` until the link ends; while `paused`
   * returns a promise, the next read waits for it.
   * @returns "eof" when the peer closed its side, "closed" when we did, or the read error
   */
  readLoop(
    onChunk: (chunk: Uint8Array) => void,
    paused?: () => Promise<void> | undefined,
  ): Promise<"eof" | "closed" | Error>;
}
