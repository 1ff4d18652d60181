/**
 * What wakes emwait in the one-shot row: a 1.2 connection that watches emd's confirmed waits
 * (`emd/watch {"waits": true}`, docs/PROTOCOL.md) and sends `T<name>` as soon as emd tells it that
 * somebody waits for `name`. A trigger sent then always reaches the waiter (emd confirmed the wait
 * first), and comes one hop after emwait's `o`: the row times emwait, not a waker's cadence
 * (docs/PERFORMANCE.md, "Issue 17, fourth session").
 * @module
 */
import { LineFramer } from "../protocol/mod.ts";
import { withDeadline } from "./_deadline.ts";
import { writeAll } from "../server/transports/write_all.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const WAITS_EVENT = "demd/waits,";
const WATCH = "c1,emd/watch," +
  '{"events":false\\x2c"stats":false\\x2c"waits":true}';

/** Wakes every wait for `name` on one emd, at once. */
export class WaitWaker implements AsyncDisposable {
  readonly #conn: Deno.TcpConn;
  readonly #name: string;
  readonly #reading: Promise<void>;
  /** How many waits for the name it has woken. */
  woken = 0;

  private constructor(conn: Deno.TcpConn, name: string, ready: () => void) {
    this.#conn = conn;
    this.#name = name;
    this.#reading = this.#read(ready);
  }

  /** Connects to 127.0.0.1:`port` and watches its waits; resolves once emd has answered. */
  static async connect(port: number, name: string): Promise<WaitWaker> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const ready = Promise.withResolvers<void>();
    const waker = new WaitWaker(conn, name, ready.resolve);
    await writeAll(conn, encoder.encode(`H1.2\nF1\n${WATCH}\n`));
    await withDeadline(ready.promise, 10_000, "emd/watch's answer");
    return waker;
  }

  async #read(ready: () => void): Promise<void> {
    const framer = new LineFramer(1 << 24);
    const buffer = new Uint8Array(64 * 1024);
    const onLine = (bytes: Uint8Array): void => {
      const line = decoder.decode(bytes);
      if (line.startsWith("r1,")) return ready();
      if (!line.startsWith(WAITS_EVENT)) return; // hello, triggers passing by
      const json = line.slice(WAITS_EVENT.length).replace(
        /\\x([0-9a-fA-F]{2})/g,
        (_, hex: string) => String.fromCharCode(parseInt(hex, 16)),
      );
      const { names } = JSON.parse(json) as { names: string[] };
      if (!names.includes(this.#name)) return;
      this.woken++;
      void writeAll(this.#conn, encoder.encode(`T${this.#name}\n`))
        .catch(() => {}); // closed: the run is over
    };
    try {
      for (;;) {
        const count = await this.#conn.read(buffer);
        if (count === null) return;
        framer.push(buffer.subarray(0, count), onLine);
      }
    } catch { /* closed by dispose */ }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#reading;
  }
}
