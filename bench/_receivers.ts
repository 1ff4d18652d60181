/**
 * The benchmark's receiving side: N EM 1.1 connections with flags 1, each reading on its own and
 * checking every delivery. Used inside worker processes (`_worker.ts`) and in-process (latency).
 *
 * Lines it knows (everything else counts as `unexpected`): the server's hello `H…`; probes
 * `Tready` and `Tfence`; benchmark triggers `Tb…<seq>`, whose name ends in the decimal sequence
 * number (a run of letters may pad it: `Tbxxxx17`). Sequence numbers rise across a whole run.
 * @module
 */
import { epochMs } from "./_proc.ts";

const LF = 10, H = 72, T = 84, LOWER_B = 98, LOWER_F = 102, LOWER_R = 114;
const FIRST_READ_BYTES = 4 * 1024; // idle receivers stay small
const MAX_READ_BYTES = 256 * 1024;
const HELLO = new TextEncoder().encode("H1.1\nF1\n");

/** What one phase (one burst of M messages) delivered to this set. */
export interface PhaseStats {
  readonly subs: number;
  readonly deliveries: number;
  /** Deliveries whose sequence number was not above the previous one on that connection. */
  readonly ooo: number;
  /** Connections that received all M. */
  readonly complete: number;
  /** Connections the server closed (or that failed) so far. */
  readonly disconnected: number;
  /** Lines that were neither hello, probe nor benchmark trigger. */
  readonly unexpected: number;
  /** Epoch ms of the first and last delivery (0 when none). */
  readonly firstMs: number;
  readonly lastMs: number;
}

/** Options of {@link ReceiverSet.connect}. */
export interface ReceiverOptions {
  /** Connects and hellos in flight at once. @default 64 */
  readonly window?: number;
  /** Called per delivery with its sequence number and the epoch ms of the read that brought it. */
  readonly onDelivery?: (seq: number, atMs: number) => void;
}

class Sub {
  conn: Deno.TcpConn;
  closed = false;
  stalled = false;
  bytes = 0;
  // line parser state, carried across reads
  pos = 0;
  first = 0;
  second = 0;
  value = 0;
  digits = 0;
  // probes and phase counters
  sawReady = false;
  sawFence = false;
  lastSeq = 0;
  count = 0;
  resume: (() => void) | undefined;
  constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }
}

/** A set of receiving connections to one server. */
export class ReceiverSet {
  readonly #subs: Sub[];
  readonly #onDelivery: ReceiverOptions["onDelivery"];
  #target = 0; // deliveries that complete the phase
  #delivered = 0;
  #ooo = 0;
  #unexpected = 0;
  #firstMs = 0;
  #lastMs = 0;
  #ready = 0;
  #fenced = 0;
  #changed: (() => void) | undefined;
  readonly #loops: Promise<void>[] = [];

  private constructor(subs: Sub[], options: ReceiverOptions) {
    this.#subs = subs;
    this.#onDelivery = options.onDelivery;
    for (const sub of subs) this.#loops.push(this.#readLoop(sub));
  }

  /** Opens `count` receiving connections to 127.0.0.1:`port` (hello and `F1` sent on each). */
  static async connect(
    port: number,
    count: number,
    options: ReceiverOptions = {},
  ): Promise<ReceiverSet> {
    const subs: Sub[] = [];
    let next = 0;
    const opener = async () => {
      while (next < count) {
        next++;
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conn.setNoDelay(true);
        await conn.write(HELLO); // 8 bytes into an empty socket: one write takes it all
        subs.push(new Sub(conn));
      }
    };
    const openers = Array.from(
      { length: Math.min(options.window ?? 64, count) },
      opener,
    );
    const results = await Promise.allSettled(openers);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      for (const sub of subs) sub.conn.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    return new ReceiverSet(subs, options);
  }

  /** Number of connections. */
  get size(): number {
    return this.#subs.length;
  }

  /** Connections that have seen a `Tready` probe. */
  get ready(): number {
    return this.#ready;
  }

  /** Connections that have seen a `Tfence` probe. */
  get fenced(): number {
    return this.#fenced;
  }

  /** Resolves once `test()` holds, checked after every read; rejects after `timeoutMs`. */
  until(test: () => boolean, timeoutMs: number): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#changed = undefined;
        reject(
          new Error(`Receivers: condition not met within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#changed = () => {
        if (!test()) return;
        clearTimeout(timer);
        this.#changed = undefined;
        resolve();
      };
    });
  }

  /** Resolves once every connection has seen the probe `what`. */
  async awaitProbe(
    what: "ready" | "fenced",
    timeoutMs: number,
  ): Promise<void> {
    const count = what === "ready" ? () => this.#ready : () => this.#fenced;
    const closed = () => this.#subs.filter((s) => s.closed).length;
    await this.until(
      () => count() === this.#subs.length || closed() > 0,
      timeoutMs,
    ).catch(() => {
      throw new Error(
        `${this.#subs.length - count()} of ${this.#subs.length} receivers ` +
          `never saw "${what}" within ${timeoutMs} ms`,
      );
    });
    if (count() < this.#subs.length) {
      throw new Error(
        `${closed()} receivers were disconnected before seeing "${what}"`,
      );
    }
  }

  /** Starts counting a burst of `messages` triggers on every connection. */
  startPhase(messages: number): void {
    this.#target = messages * this.#subs.length;
    this.#delivered =
      this.#ooo =
      this.#firstMs =
      this.#lastMs =
        0;
    for (const sub of this.#subs) sub.count = 0;
  }

  /**
   * Resolves with the phase's figures once every connection got every message, or `idleMs` after
   * the last delivery, or `deadlineMs` after the call (the rest counts as lost).
   */
  async finishPhase(idleMs: number, deadlineMs: number): Promise<PhaseStats> {
    const started = epochMs();
    const live = () => this.#subs.filter((s) => !s.closed && !s.stalled).length;
    while (this.#delivered < this.#target) {
      const now = epochMs();
      const since = this.#lastMs === 0 ? now - started : now - this.#lastMs;
      if (since > idleMs && this.#lastMs !== 0) break;
      if (now - started > deadlineMs || live() === 0) break;
      await this.until(() => this.#delivered >= this.#target, 100).catch(
        () => {},
      );
    }
    return this.stats();
  }

  /** The current phase's figures. */
  stats(): PhaseStats {
    const perSub = this.#subs.length === 0
      ? 0
      : this.#target / this.#subs.length;
    return {
      subs: this.#subs.length,
      deliveries: this.#delivered,
      ooo: this.#ooo,
      complete: this.#subs.filter((s) => s.count >= perSub).length,
      disconnected: this.#subs.filter((s) => s.closed).length,
      unexpected: this.#unexpected,
      firstMs: this.#firstMs,
      lastMs: this.#lastMs,
    };
  }

  /** Stops reading on every connection (the server's output for them piles up). */
  stall(): void {
    for (const sub of this.#subs) sub.stalled = true;
  }

  /**
   * Reads again until every connection is closed by the server, nothing arrived for `idleMs`, or
   * `timeoutMs` passed.
   * @returns how many connections the server closed, and the bytes read meanwhile
   */
  async drainUntilClosed(
    idleMs: number,
    timeoutMs: number,
  ): Promise<{ closed: number; bytes: number }> {
    const bytes = () => this.#subs.reduce((sum, s) => sum + s.bytes, 0);
    const before = bytes();
    for (const sub of this.#subs) {
      sub.stalled = false;
      sub.resume?.();
    }
    const deadline = epochMs() + timeoutMs;
    const allClosed = () => this.#subs.every((s) => s.closed);
    while (!allClosed() && epochMs() < deadline) {
      const seen = bytes();
      await this.until(allClosed, idleMs).catch(() => {});
      if (bytes() === seen) break; // idle: the server is not closing it
    }
    return {
      closed: this.#subs.filter((s) => s.closed).length,
      bytes: bytes() - before,
    };
  }

  /** Closes every connection and waits for the read loops to end. */
  async close(): Promise<void> {
    for (const sub of this.#subs) {
      sub.stalled = false;
      sub.resume?.();
      if (!sub.closed) {
        sub.closed = true;
        try {
          sub.conn.close();
        } catch { /* the server closed it first */ }
      }
    }
    await Promise.all(this.#loops);
  }

  async #readLoop(sub: Sub): Promise<void> {
    let buffer = new Uint8Array(FIRST_READ_BYTES);
    while (!sub.closed) {
      if (sub.stalled) {
        await new Promise<void>((resolve) => sub.resume = resolve);
        sub.resume = undefined;
        continue;
      }
      let count: number | null;
      try {
        count = await sub.conn.read(buffer);
      } catch {
        count = null;
      }
      if (count === null) {
        if (!sub.closed) {
          sub.closed = true;
          try {
            sub.conn.close();
          } catch { /* already closed */ }
        }
        break;
      }
      sub.bytes += count;
      this.#parse(sub, buffer, count, epochMs());
      if (count === buffer.length && buffer.length < MAX_READ_BYTES) {
        buffer = new Uint8Array(buffer.length * 4);
      }
      this.#changed?.();
    }
    this.#changed?.();
  }

  #parse(sub: Sub, bytes: Uint8Array, count: number, atMs: number): void {
    let { pos, first, second, value, digits } = sub;
    for (let i = 0; i < count; i++) {
      const c = bytes[i]!;
      if (c !== LF) {
        if (pos === 0) first = c;
        else if (pos === 1) second = c;
        if (c >= 48 && c <= 57) {
          value = value * 10 + c - 48;
          digits++;
        } else {
          value = digits = 0;
        }
        pos++;
        continue;
      }
      if (first === T && second === LOWER_B && digits > 0) {
        this.#deliver(sub, value, atMs);
      } else if (first === T && second === LOWER_R && digits === 0) {
        if (!sub.sawReady) this.#ready++;
        sub.sawReady = true;
      } else if (first === T && second === LOWER_F && digits === 0) {
        if (!sub.sawFence) this.#fenced++;
        sub.sawFence = true;
      } else if (first !== H) {
        this.#unexpected++;
      }
      pos =
        first =
        second =
        value =
        digits =
          0;
    }
    sub.pos = pos;
    sub.first = first;
    sub.second = second;
    sub.value = value;
    sub.digits = digits;
  }

  #deliver(sub: Sub, seq: number, atMs: number): void {
    if (seq <= sub.lastSeq) this.#ooo++;
    sub.lastSeq = seq;
    sub.count++;
    this.#delivered++;
    if (this.#firstMs === 0) this.#firstMs = atMs;
    this.#lastMs = atMs;
    this.#onDelivery?.(seq, atMs);
  }
}
