/**
 * The soak's raw EM 1.2 connection: lines in and out, requests matched to their answers by id, and
 * an abrupt end (the socket closed with no goodbye, perhaps mid-message). Nothing from client/: the
 * soak must be able to misbehave the way real peers do.
 * @module
 */
import { LineFramer } from "../protocol/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a soak connection hands to its role for each line that is not an answer. */
export type OnLine = (line: string) => void;

/** One answer: the letter (`r`, `g`, `o`, `p`, `e`, `x`) and the parameters after the id. */
export interface Answer {
  readonly letter: string;
  readonly params: readonly string[];
}

/** A raw EM connection for the soak. */
export class SoakConn {
  readonly hello: Promise<string>;
  readonly ended: Promise<void>;
  #conn: Deno.Conn;
  #pending = new Map<string, (answer: Answer | undefined) => void>();
  #onLine: OnLine = () => {};
  #resolveHello!: (line: string) => void;
  #closed = false;
  #nextId = 0;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.hello = new Promise((resolve) => this.#resolveHello = resolve);
    this.ended = this.#read();
  }

  /** Connects; the server's hello arrives on {@link hello}. */
  static async open(port: number): Promise<SoakConn> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new SoakConn(conn);
  }

  /** Lines that are not answers to our requests (`d`, `T`, unmatched `e`). */
  set onLine(handler: OnLine) {
    this.#onLine = handler;
  }

  /** True once the socket is closed (by us) or the server ended it. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes lines; a write on a closed connection is ignored (the role notices on its next request). */
  async send(text: string): Promise<void> {
    if (this.#closed) return;
    const bytes = encoder.encode(text);
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    } catch {
      this.#closeSocket();
    }
  }

  /** Sends `<letter><id>,<rest>` and resolves with its answer, or undefined if the connection ends. */
  request(letter: string, rest: string): Promise<Answer | undefined> {
    const id = String(++this.#nextId);
    const answered = new Promise<Answer | undefined>((resolve) => {
      this.#pending.set(id, resolve);
    });
    void this.send(`${letter}${id}${rest === "" ? "" : "," + rest}\n`);
    return answered;
  }

  /** Ends the connection with no goodbye; with `partial`, a message is cut off first. */
  async abort(partial = false): Promise<void> {
    if (partial) await this.send("t999,soak_ev,");
    this.#closeSocket();
    await this.ended;
  }

  /** Ends the connection the polite way: our side closed, the server's close read. */
  async close(): Promise<void> {
    if (!this.#closed) {
      try {
        await this.#conn.closeWrite();
      } catch {
        this.#closeSocket();
      }
    }
    await this.ended;
  }

  #closeSocket(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  async #read(): Promise<void> {
    const framer = new LineFramer();
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const count = await this.#conn.read(buffer);
        if (count === null) break;
        framer.push(
          buffer.subarray(0, count),
          (line) => this.#line(decoder.decode(line)),
        );
      }
    } catch { /* reset, or closed by us */ }
    this.#closeSocket();
    for (const resolve of this.#pending.values()) resolve(undefined);
    this.#pending.clear();
  }

  #line(line: string): void {
    const letter = line[0] ?? "";
    if (letter === "H") return this.#resolveHello(line);
    if ("rgopqx".includes(letter) || (letter === "e" && line.includes(","))) {
      const params = line.slice(1).split(",");
      // answers carry their id first, except `e<code>,<text>,<id>` (sync) with it last
      const id = letter === "e" ? params[params.length - 1]! : params[0]!;
      const resolve = this.#pending.get(id);
      if (resolve !== undefined) {
        this.#pending.delete(id);
        return resolve({
          letter,
          params: letter === "e" ? params : params.slice(1),
        });
      }
    }
    this.#onLine(line);
  }
}
