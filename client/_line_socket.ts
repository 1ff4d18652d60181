import { EmError, LineFramer, textBytes } from "../protocol/line_codec.ts";
import { startUnrefTimer } from "./_deadline.ts";

/** What a {@link LineSocket} needs from the client that owns it. */
export interface LineSocketOwner {
  /** A complete line (a view into the read buffer: copy what must outlive the call). */
  onLine(line: Uint8Array): void;
  /** The error the connection has failed with, if it has: sends reject with it, reading stops. */
  failure(): EmError | undefined;
  /** Why the connection ended once the peer closed its side. */
  endReason(): EmError;
  /** Reading ended: the peer closed, or the socket failed (unless the owner had failed first). */
  fail(error: EmError): void;
}

/**
 * The socket under an em client, shared by the library client and the one-shot client: writes
 * in order, reads lines for its owner, and closes gracefully.
 */
export class LineSocket {
  /** Splits what is read into lines; its limit follows the hello's agreement. */
  readonly framer: LineFramer = new LineFramer();
  /** Settles once reading has ended. */
  readonly reading: Promise<void>;
  readonly #conn: Deno.Conn;
  readonly #where: string;
  readonly #owner: LineSocketOwner;
  #writes: Promise<void> = Promise.resolve();
  #stopped = false;
  #unsettled = 0; // sends not yet written (or failed): while any, a send waits its turn
  #settledBound = (): void => this.#settled();

  /** Starts reading at once. */
  constructor(conn: Deno.Conn, where: string, owner: LineSocketOwner) {
    this.#conn = conn;
    this.#where = where;
    this.#owner = owner;
    this.reading = this.#readLoop();
  }

  /** Settles once everything sent so far is written (or failed to be). */
  get written(): Promise<void> {
    return this.#writes;
  }

  /** Queues text; resolves once written, rejects with EmError "closed" (or the owner's failure). */
  send(text: string): Promise<void> {
    const failed = this.#owner.failure();
    if (failed !== undefined) return Promise.reject(failed);
    const bytes = textBytes(text);
    const write = this.#unsettled === 0 // nothing before it: written now, in this turn
      ? this.#writeAll(bytes)
      : this.#writes.then(() => this.#writeAll(bytes));
    this.#unsettled++;
    this.#writes = write.then(this.#settledBound, this.#settledBound);
    return write.catch((error) => {
      throw this.#owner.failure() ??
        new EmError(
          "closed",
          `Cannot send to "${this.#where}": ${error.message}`,
          { cause: error },
        );
    });
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = await this.#conn.write(bytes);
    while (offset < bytes.length) {
      offset += await this.#conn.write(bytes.subarray(offset));
    }
  }

  #settled(): void {
    this.#unsettled--;
  }

  /**
   * Writes what is queued, lets the server see our end (it reads all we sent, then closes) and
   * waits up to 2 s for its end; a server that already closed is fine.
   */
  async finish(): Promise<void> {
    await this.#writes;
    try {
      await this.#conn.closeWrite();
    } catch {
      return; // the server already closed
    }
    await new Promise<void>((resolve) => { // the pending read keeps the process alive
      const stop = startUnrefTimer(2_000, resolve); // the server did not close in time
      this.reading.then(() => (stop(), resolve()));
    });
  }

  /** Reading stopped by {@link stopReading}. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Reads no more once the current chunk's lines are delivered: nothing is expected, and a close
   * then cancels no pending read.
   */
  stopReading(): void {
    this.#stopped = true;
  }

  /** Closes the socket at once; idempotent. */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    let reason: EmError;
    try {
      while (true) {
        const count = await this.#conn.read(buffer);
        if (count === null) {
          reason = this.#owner.endReason();
          break;
        }
        this.framer.push(
          buffer.subarray(0, count),
          (line) => this.#owner.onLine(line),
        );
        if (this.#owner.failure() !== undefined || this.#stopped) return;
      }
    } catch (error) {
      if (this.#owner.failure() !== undefined) return; // it closed the socket: it knows why
      reason = error instanceof EmError ? error : new EmError(
        "closed",
        `Connection to "${this.#where}" lost: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.#owner.fail(reason);
  }
}
