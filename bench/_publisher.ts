/**
 * The benchmark's sending side: one EM 1.1 connection that writes probes and bursts of
 * `Tb<seq>` triggers, with the sequence number rising across the whole run.
 * @module
 */
import { epochMs } from "./_proc.ts";
import { pause, withDeadline } from "./_deadline.ts";
import { writeAll } from "../server/transports/write_all.ts";

/** Receivers that can say when all of them have seen a probe (a worker pool, a receiver set). */
export interface Probed {
  awaitProbe(what: "ready" | "fenced", timeoutMs: number): Promise<unknown>;
}

const encoder = new TextEncoder();
const CHUNK_BYTES = 256 * 1024;

/** A sending connection. */
export class Publisher implements AsyncDisposable {
  readonly #conn: Deno.TcpConn;
  #seq = 0;
  #digits: number[] = [48]; // the decimal digits of #seq, as ASCII, most significant first

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  /** Connects to 127.0.0.1:`port` and says hello (flags stay 0: it receives nothing). */
  static async connect(port: number): Promise<Publisher> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    const publisher = new Publisher(conn);
    await writeAll(publisher.#conn, encoder.encode("H1.1\n"));
    return publisher;
  }

  /** The sequence number of the last trigger sent. */
  get seq(): number {
    return this.#seq;
  }

  /** Sends `T<name>` (a probe). */
  async trigger(name: string): Promise<void> {
    await writeAll(this.#conn, encoder.encode(`T${name}\n`));
  }

  /** Sends the next benchmark trigger alone; returns its sequence number. */
  async next(): Promise<number> {
    const seq = this.#advance();
    await writeAll(this.#conn, encoder.encode(`Tb${seq}\n`));
    return seq;
  }

  /**
   * Writes `messages` triggers back to back, as fast as TCP takes them; `pad` letters follow the
   * `b` of each name (longer messages). Returns the epoch ms just before the first write.
   */
  async burst(messages: number, pad = 0): Promise<number> {
    const prefix = encoder.encode("Tb" + "x".repeat(pad));
    const chunk = new Uint8Array(CHUNK_BYTES);
    const started = epochMs();
    let used = 0;
    for (let i = 0; i < messages; i++) {
      this.#advance();
      const digits = this.#digits;
      if (used + prefix.length + digits.length + 1 > CHUNK_BYTES) {
        await writeAll(this.#conn, chunk.subarray(0, used));
        used = 0;
      }
      chunk.set(prefix, used);
      used += prefix.length;
      for (let d = 0; d < digits.length; d++) chunk[used++] = digits[d]!;
      chunk[used++] = 10;
    }
    if (used > 0) await writeAll(this.#conn, chunk.subarray(0, used));
    return started;
  }

  /**
   * Sends `Tready` until every receiver has one, then `Tfence` likewise until every receiver has
   * that: no probe is still in flight afterwards, so every subscription is active. The first probe
   * goes after `everyMs`, each later gap is twice the one before, up to 1 s: a server that is slow
   * to reach N receivers is not buried under probes.
   */
  async probe(
    receivers: Probed,
    timeoutMs: number,
    everyMs = 20,
  ): Promise<void> {
    for (const what of ["ready", "fenced"] as const) {
      let settled = false;
      const answered = receivers.awaitProbe(what, timeoutMs)
        .finally(() => settled = true);
      const deadline = epochMs() + timeoutMs;
      let gapMs = everyMs;
      while (!settled && epochMs() < deadline) {
        await this.trigger(what === "ready" ? "ready" : "fence");
        await Promise.race([answered.catch(() => {}), pause(gapMs)]);
        gapMs = Math.min(1_000, gapMs * 2);
      }
      await withDeadline(answered, 5_000, `receivers to see "${what}"`);
    }
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed by the server */ }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #advance(): number {
    const digits = this.#digits;
    let i = digits.length - 1;
    while (i >= 0 && digits[i] === 57) digits[i--] = 48;
    if (i < 0) digits.unshift(49);
    else digits[i]!++;
    return ++this.#seq;
  }
}
