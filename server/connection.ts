import { serverLogger } from "./_log.ts";

const log = serverLogger("connection");
const FIRST_READ_BYTES = 1024; // idle receivers stay small; busy senders grow their buffer
const MAX_READ_BYTES = 64 * 1024;

/** How a connection ended, as logged. */
export interface CloseReason {
  /** What happened, for the log line. */
  readonly reason: string;
  /** True when the peer misbehaved (logged as a warning). */
  readonly fault: boolean;
}

/**
 * One TCP (or TLS) connection: a read loop and a writer that never makes the server wait. Output is
 * queued up to `maxQueuedBytes`; past it the peer is cut off.
 */
export class Connection {
  /** `host:port` of the peer, for log lines. */
  readonly peer: string;
  /** Settles once, with the reason, when the connection is closed. */
  readonly closed: Promise<CloseReason>;
  #conn: Deno.Conn;
  #maxQueuedBytes: number;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #writing = false;
  #closeReason: CloseReason | undefined;
  #resolveClosed!: (reason: CloseReason) => void;

  constructor(conn: Deno.Conn, maxQueuedBytes: number) {
    this.#conn = conn;
    this.#maxQueuedBytes = maxQueuedBytes;
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.peer = `${addr.hostname}:${addr.port}`;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch { /* not a TCP socket or already shut: nothing to tune */ }
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
    if (this.#queuedBytes + frame.byteLength > this.#maxQueuedBytes) {
      this.close(
        `Cannot queue output: over ${this.#maxQueuedBytes} bytes`,
        true,
      );
      return;
    }
    this.#queue.push(frame);
    this.#queuedBytes += frame.byteLength;
    if (!this.#writing) this.#drain();
  }

  /** Closes once, logging the reason; later calls do nothing. */
  close(reason: string, fault = false): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = { reason, fault };
    this.#queue = [];
    try {
      this.#conn.close();
    } catch (error) {
      if (!(error instanceof Deno.errors.BadResource)) throw error;
    }
    if (fault) log.warn("Closed {peer}: {reason}", { peer: this.peer, reason });
    else log.info("Closed {peer}: {reason}", { peer: this.peer, reason });
    this.#resolveClosed(this.#closeReason);
  }

  /**
   * Reads until the peer closes or the connection is closed, handing each chunk to `onChunk`
   * synchronously. A chunk is a view into a reused buffer: copy what must outlive the call.
   * @returns "eof" when the peer closed its side, "closed" when we did, or the read error
   */
  async readLoop(
    onChunk: (chunk: Uint8Array) => void,
  ): Promise<"eof" | "closed" | Error> {
    let buffer = new Uint8Array(FIRST_READ_BYTES);
    while (this.#closeReason === undefined) {
      let count: number | null;
      try {
        count = await this.#conn.read(buffer);
      } catch (error) {
        return this.#closeReason !== undefined ? "closed" : error as Error;
      }
      if (count === null) {
        return this.#closeReason !== undefined ? "closed" : "eof";
      }
      onChunk(buffer.subarray(0, count));
      if (count === buffer.length && buffer.length < MAX_READ_BYTES) {
        buffer = new Uint8Array(buffer.length * 4);
      }
    }
    return "closed";
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && this.#closeReason === undefined) {
        const frames = this.#queue;
        this.#queue = [];
        const bytes = frames.length === 1 ? frames[0]! : concat(frames);
        await this.#writeAll(bytes);
        this.#queuedBytes -= bytes.byteLength;
      }
    } catch (error) {
      this.close(`Cannot write: ${(error as Error).message}`);
    } finally {
      this.#writing = false;
    }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length && this.#closeReason === undefined) {
      offset += await this.#conn.write(bytes.subarray(offset));
    }
  }
}

function concat(frames: Uint8Array[]): Uint8Array {
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
