// A Link without a socket: the test decides exactly how the input is cut into reads, and every
// read is handed out from one reused buffer that is overwritten afterwards (as Connection does),
// so a session that keeps a view of a chunk past the call is caught.
import type { CloseOptions, CloseReason, Link } from "../../server/link.ts";

const SCRIBBLE = 0x7e; // "~": not a line end, not a name byte

export class FakeLink implements Link {
  readonly peer: string;
  readonly kind = "tcp";
  closeReason: CloseReason | undefined;
  /** Everything the server sent, copied at the time of sending. */
  readonly received: number[] = [];
  #chunks: Uint8Array[] = [];
  #buffer = new Uint8Array(0);
  #wake: (() => void) | undefined;
  #processed: (() => void) | undefined;
  #resolveClosed!: (reason: CloseReason) => void;
  readonly closed: Promise<CloseReason> = new Promise((resolve) =>
    this.#resolveClosed = resolve
  );

  constructor(peer: string) {
    this.peer = peer;
  }

  get isClosed(): boolean {
    return this.closeReason !== undefined;
  }

  get queuedBytes(): number {
    return 0;
  }

  send(lines: Uint8Array): void {
    if (this.isClosed) return;
    for (const byte of lines) this.received.push(byte);
  }

  close(reason: string, fault = false): void {
    if (this.isClosed) return;
    this.closeReason = { reason, fault };
    this.#resolveClosed(this.closeReason);
    this.#wake?.();
  }

  closeAfterFlush(
    lastLines: Uint8Array,
    reason: string,
    options: CloseOptions = {},
  ): void {
    this.send(lastLines);
    this.close(reason, options.fault);
  }

  /** Hands `chunks` to the session as reads, one per chunk; resolves once all were handled. */
  feed(chunks: readonly Uint8Array[]): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    this.#chunks.push(...chunks);
    const done = new Promise<void>((resolve) => this.#processed = resolve);
    this.#wake?.();
    return done;
  }

  /** The peer closes its side after what was fed. */
  end(): void {
    this.#chunks.push(new Uint8Array(0));
    this.#wake?.();
  }

  async readLoop(
    onChunk: (chunk: Uint8Array) => void,
  ): Promise<"eof" | "closed" | Error> {
    for (;;) {
      while (this.#chunks.length > 0) {
        if (this.isClosed) {
          this.#chunks = [];
          break;
        }
        const chunk = this.#chunks.shift()!;
        if (chunk.length === 0) {
          this.#processed?.();
          return "eof";
        }
        if (this.#buffer.length < chunk.length) {
          this.#buffer = new Uint8Array(chunk.length * 2);
        }
        this.#buffer.set(chunk);
        onChunk(this.#buffer.subarray(0, chunk.length));
        this.#buffer.fill(SCRIBBLE);
      }
      this.#processed?.();
      if (this.isClosed) return "closed";
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }
}
