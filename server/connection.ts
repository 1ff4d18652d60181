import { serverLogger } from "./_log.ts";
import type { CloseOptions, CloseReason, Link } from "./link.ts";
import { sendableFd, sendNow } from "./send_now.ts";

const log = serverLogger("connection");
const FIRST_READ_BYTES = 128; // idle receivers stay small; busy senders grow their buffer ×4
const MAX_READ_BYTES = 64 * 1024;
/** How long {@link Connection.closeAfterFlush} waits for its last bytes to go and the peer to close. */
export const CLOSE_LINGER_MS = 2_000;

/** What a connection reports about its output queue (flow_control.ts implements it). */
export interface OutputWatcher {
  /** Queued bytes above which a connection reports {@link backlogged}. */
  readonly highWaterBytes: number;
  /** The connection's queue grew past its high-water mark. */
  backlogged(connection: Connection): void;
  /** A write completed or the connection closed: its queue shrank. */
  progressed(connection: Connection): void;
  /** Whether the connection may queue `overBytes` past its limit (else it is cut off). */
  mayOverflow?(connection: Connection, overBytes: number): boolean;
}

/** Where a connection adds the bytes it reads and writes (once per read or write). */
export interface TrafficCounter {
  /** Bytes read from peers. */
  bytesReceived: number;
  /** Bytes written to peers. */
  bytesSent: number;
}

/** Options of a {@link Connection} besides its queue limit. */
export interface ConnectionOptions {
  /**
   * Told when the output queue passes the watcher's high-water mark and when it shrinks again.
   * @default {undefined}
   */
  readonly watcher?: OutputWatcher;
  /**
   * Counts the bytes read and written.
   * @default {undefined}
   */
  readonly traffic?: TrafficCounter;
}

/**
 * One TCP (or TLS) connection: a read loop and a writer that never makes the server wait. Output is
 * queued up to `maxQueuedBytes`; past it the peer is cut off.
 */
export class Connection implements Link {
  readonly kind = "tcp";
  /** `host:port` of the peer, for log lines. */
  readonly peer: string;
  #conn: Deno.Conn;
  #fd: number; // the socket's descriptor when it can be written synchronously (send_now.ts), else -1
  #maxQueuedBytes: number;
  #queue: Uint8Array[] | undefined; // frames waiting for the write in flight; made when needed
  #queuedBytes = 0;
  #writing = false;
  #inFlight: Uint8Array | undefined; // the bytes of the write in flight
  #onWritten: ((written: number) => void) | undefined;
  #onWriteFailed: ((error: Error) => void) | undefined;
  #closeReason: CloseReason | undefined;
  #shut = false; // the socket itself is closed (after closeAfterFlush, later than #closeReason)
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  #closed: Promise<CloseReason> | undefined; // made on first use: most connections never need it
  #resolveClosed: ((reason: CloseReason) => void) | undefined;
  #watcher: OutputWatcher | undefined;
  #traffic: TrafficCounter | undefined;

  constructor(
    conn: Deno.Conn,
    maxQueuedBytes: number,
    options: ConnectionOptions = {},
  ) {
    this.#conn = conn;
    this.#fd = sendableFd(conn);
    this.#maxQueuedBytes = maxQueuedBytes;
    this.#watcher = options.watcher;
    this.#traffic = options.traffic;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.peer = `${addr.hostname}:${addr.port}`;
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch { /* not a TCP socket or already shut: nothing to tune */ }
  }

  /** Settles once, with the reason, when the connection is closed. */
  get closed(): Promise<CloseReason> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closed = this.#shut
      ? Promise.resolve(this.#closeReason!)
      : new Promise((resolve) => this.#resolveClosed = resolve);
    return this.#closed;
  }

  /** Why the connection closed; undefined while it is open. */
  get closeReason(): CloseReason | undefined {
    return this.#closeReason;
  }

  /** True once {@link close} has run. */
  get isClosed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Bytes queued for the peer and not yet written. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Queues bytes for the peer; never waits. The frame must not change afterwards. */
  send(frame: Uint8Array): void {
    if (this.#closeReason !== undefined) return;
    const queuedBytes = this.#queuedBytes + frame.byteLength;
    if (queuedBytes > this.#maxQueuedBytes && this.#overLimit(queuedBytes)) {
      return;
    }
    this.#queuedBytes += frame.byteLength;
    if (this.#writing) (this.#queue ??= []).push(frame);
    else this.#write(frame); // nothing in flight: no queue array per delivery
    const watcher = this.#watcher;
    if (watcher && this.#queuedBytes > watcher.highWaterBytes) {
      watcher.backlogged(this);
    }
  }

  /**
   * Cuts the peer off if more than `maxQueuedBytes` is queued for it and the watcher no longer
   * lets it hold that much (flow control, once it judges a receiver it let queue more stopped).
   */
  enforceLimit(): void {
    if (this.#closeReason !== undefined) return;
    if (this.#queuedBytes > this.#maxQueuedBytes) {
      this.#overLimit(this.#queuedBytes);
    }
  }

  /** Past the limit with `queuedBytes`: cuts the peer off unless the watcher lets it (true: cut). */
  #overLimit(queuedBytes: number): boolean {
    const overBytes = queuedBytes - this.#maxQueuedBytes;
    if (this.#watcher?.mayOverflow?.(this, overBytes)) return false;
    this.close(
      `Cannot queue output: over ${this.#maxQueuedBytes} bytes`,
      true,
      { limit: "maxQueuedBytes", value: this.#maxQueuedBytes },
    );
    return true;
  }

  /** Closes once, logging the reason; later calls do nothing, but cut a {@link closeAfterFlush} short. */
  close(
    reason: string,
    fault = false,
    properties?: Readonly<Record<string, unknown>>,
  ): void {
    if (this.#closeReason === undefined) {
      this.#ending(reason, { fault, ...(properties && { properties }) });
    }
    this.#queue = undefined;
    this.#shutNow();
  }

  /**
   * Closes once, like {@link close}, but first writes what is queued and then `lastFrame` (e.g. an
   * `e` line saying why), bypassing `maxQueuedBytes`. It then half-closes and reads (discarding)
   * until the peer closes, so unread input cannot make the kernel reset the connection and destroy
   * that line; after {@link CLOSE_LINGER_MS} it closes anyway. Input is no longer handed out.
   */
  closeAfterFlush(
    lastFrame: Uint8Array,
    reason: string,
    options: CloseOptions = {},
  ): void {
    if (this.#closeReason !== undefined) return;
    this.#ending(reason, options);
    (this.#queue ??= []).push(lastFrame);
    this.#queuedBytes += lastFrame.byteLength;
    this.#lingerTimer = setTimeout(() => this.#shutNow(), CLOSE_LINGER_MS);
    this.#drain();
  }

  #ending(reason: string, { fault = false, properties }: CloseOptions): void {
    this.#closeReason = { reason, fault, ...(properties && { properties }) };
    const record = { ...properties, peer: this.peer, reason };
    if (fault) log.warn("Closed {peer}: {reason}", record);
    else log.info("Closed {peer}: {reason}", record);
  }

  #shutNow(): void {
    if (this.#shut) return;
    this.#shut = true;
    this.#fd = -1; // closed below: the number may soon name another socket
    clearTimeout(this.#lingerTimer);
    try {
      this.#conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    this.#resolveClosed?.(this.#closeReason!);
    this.#watcher?.progressed(this);
  }

  /** After the last frame of a closeAfterFlush is written: FIN, then wait for the peer's. */
  #halfClose(): void {
    const shut = () => this.#shutNow(); // reset by the peer: nothing left to protect
    try {
      (this.#conn as Deno.TcpConn).closeWrite().catch(shut); // a rejection must not go unhandled
    } catch {
      shut();
    }
  }

  /**
   * Reads until the peer closes or the connection is closed, handing each chunk to `onChunk`
   * synchronously. A chunk is a view into a reused buffer: copy what must outlive the call. Once
   * the connection is closing, input is read and discarded until the peer closes. While `paused`
   * returns a promise, the next read waits for it.
   * @returns "eof" when the peer closed its side, "closed" when we did, or the read error
   */
  async readLoop(
    onChunk: (chunk: Uint8Array) => void,
    paused?: () => Promise<void> | undefined,
  ): Promise<"eof" | "closed" | Error> {
    let buffer = new Uint8Array(FIRST_READ_BYTES);
    while (!this.#shut) {
      let count: number | null;
      try {
        count = await this.#conn.read(buffer);
      } catch (error) {
        if (this.#closeReason === undefined) return error as Error;
        this.#shutNow();
        return "closed";
      }
      if (count === null) {
        if (this.#closeReason === undefined) return "eof";
        this.#shutNow();
        return "closed";
      }
      if (this.#traffic !== undefined) this.#traffic.bytesReceived += count;
      if (this.#closeReason !== undefined) continue; // closing: discard
      onChunk(buffer.subarray(0, count));
      if (count === buffer.length && buffer.length < MAX_READ_BYTES) {
        buffer = new Uint8Array(buffer.length * 4);
      }
      const wait = paused?.(); // flow control: a receiver is behind, let TCP slow this peer
      if (wait !== undefined) await wait;
    }
    return "closed";
  }

  /**
   * Starts writing what is queued, unless a write is under way. One write at a time, driven by
   * promise callbacks rather than an async loop: fanning a frame out to 10 000 receivers then
   * allocates one promise each instead of an async frame each.
   */
  #drain(): void {
    if (this.#writing || this.#shut) return;
    const frames = this.#queue;
    if (frames === undefined || frames.length === 0) {
      if (this.#closeReason !== undefined) this.#halfClose();
      return;
    }
    this.#queue = undefined;
    this.#write(frames.length === 1 ? frames[0]! : concat(frames));
  }

  #write(bytes: Uint8Array): void {
    this.#writing = true;
    this.#inFlight = bytes;
    if (this.#fd !== -1) { // written now when the socket takes it: no op, no turn of the loop
      const sent = sendNow(this.#fd, bytes);
      if (sent > 0) return this.#wrote(sent); // a part: the rest is tried again, then waits
    }
    this.#conn.write(bytes).then( // handlers made once: a delivery allocates no closures
      this.#onWritten ??= (written: number) => this.#wrote(written),
      this.#onWriteFailed ??= (error: Error) => {
        this.#writing = false;
        this.close(`Cannot write: ${error.message}`);
      },
    );
  }

  #wrote(written: number): void {
    const bytes = this.#inFlight!;
    this.#inFlight = undefined;
    this.#writing = false;
    this.#queuedBytes -= written;
    if (this.#traffic !== undefined) this.#traffic.bytesSent += written;
    this.#watcher?.progressed(this);
    if (this.#shut) return;
    if (written < bytes.length) return this.#write(bytes.subarray(written));
    this.#drain();
  }
}

/** The frames joined into one new array. */
export function concat(frames: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const frame of frames) length += frame.byteLength;
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const frame of frames) {
    bytes.set(frame, offset);
    offset += frame.byteLength;
  }
  return bytes;
}
