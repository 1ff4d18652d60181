import { EmError } from "./em_error.ts";
import { MAX_LINE_BYTES } from "./limits.ts";

const CR = 0x0d;
const LF = 0x0a;
const EMPTY = new Uint8Array(0);

/** Splits a byte stream into lines; knows nothing about sockets. */
export class LineFramer {
  #carry: Uint8Array = EMPTY; // the start of a line that the previous chunk did not finish
  #afterCr = false; // the previous chunk ended in "\r": a leading "\n" belongs to that line end
  #maxLineBytes: number;

  /** @param maxLineBytes largest line accepted, counting its line end */
  constructor(maxLineBytes: number = MAX_LINE_BYTES) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Bytes of an unfinished line held from earlier chunks. */
  get pendingBytes(): number {
    return this.#carry.length;
  }

  /** True between lines: nothing carried, no `\r` whose `\n` may still come. */
  get atLineStart(): boolean {
    return this.#carry.length === 0 && !this.#afterCr;
  }

  /** Changes the line limit, e.g. after a 1.2 hello negotiated a larger one. */
  set maxLineBytes(value: number) {
    this.#maxLineBytes = value;
  }

  /** The current line limit in bytes, counting the line end. */
  get maxLineBytes(): number {
    return this.#maxLineBytes;
  }

  /**
   * Calls `onLine` per completed line, without its line end. A line is a view into `chunk` (copy it
   * to keep it) unless it began in an earlier chunk. If `onLine` returns false, framing stops and
   * the rest of the chunk is discarded (the connection is closing).
   * @throws {EmError} code "protocol" past the line limit
   */
  push(chunk: Uint8Array, onLine: (line: Uint8Array) => boolean | void): void {
    if (chunk.length === 0) return;
    let start = this.#afterCr && chunk[0] === LF ? 1 : 0;
    this.#afterCr = false;
    let cr = chunk.indexOf(CR, start), lf = chunk.indexOf(LF, start);
    while (cr !== -1 || lf !== -1) {
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (onLine(this.#complete(chunk.subarray(start, end))) === false) {
        this.#carry = EMPTY;
        return;
      }
      start = end + 1;
      if (end === cr && chunk[start] === LF) start++; // "\r\n" is one line end
      else if (end === cr && start === chunk.length) this.#afterCr = true;
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start);
    }
    if (start === chunk.length) return; // the chunk ended with a line end: nothing carried
    const tail = this.#complete(chunk.subarray(start)); // its line end must still fit
    this.#carry = tail.slice(); // keep only the unfinished tail
  }

  #complete(part: Uint8Array): Uint8Array {
    const length = this.#carry.length + part.length;
    if (length + 1 > this.#maxLineBytes) { // the limit counts the line end
      this.#carry = EMPTY;
      throw new EmError(
        "protocol",
        `Cannot read message: over ${this.#maxLineBytes} bytes`,
      );
    }
    if (this.#carry.length === 0) return part;
    const line = new Uint8Array(length);
    line.set(this.#carry);
    line.set(part, this.#carry.length);
    this.#carry = EMPTY;
    return line;
  }
}
