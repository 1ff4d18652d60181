/** Helpers for tests that speak the wire directly: a raw TCP peer and a capture of em's log. */
import { LineFramer } from "../../protocol/mod.ts";
import { configureLogging } from "../../server/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A raw TCP peer for tests where the bytes matter. Reads only when asked, so a test can make a
 * peer that never reads. Every read has a deadline so a broken server fails the test, not hangs it.
 */
export class RawPeer implements AsyncDisposable {
  readonly conn: Deno.TcpConn;
  #framer = new LineFramer(1 << 20);
  #lines: string[] = [];
  #eof = false;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:port. */
  static async connect(port: number): Promise<RawPeer> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true); // small writes go out at once, not after a delayed ACK
    return new RawPeer(conn);
  }

  /** Wraps a connection accepted in a test (e.g. by a fake server). */
  static wrap(conn: Deno.TcpConn): RawPeer {
    return new RawPeer(conn);
  }

  /** Connects, reads the server's hello and answers with `hello` (nothing if empty). */
  static async greeted(port: number, hello = "H1.1"): Promise<RawPeer> {
    const peer = await RawPeer.connect(port);
    await peer.readLine();
    if (hello !== "") await peer.send(hello + "\n");
    return peer;
  }

  /** How the server names this peer in its log: `127.0.0.1:<our port>`. */
  get name(): string {
    const addr = this.conn.localAddr as Deno.NetAddr;
    return `${addr.hostname}:${addr.port}`;
  }

  /** Writes all of `data`. */
  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let offset = 0;
    while (offset < bytes.length) {
      offset += await this.conn.write(bytes.subarray(offset));
    }
  }

  /** The next line from the server, or null once it has closed the connection. */
  async readLine(timeoutMs = 10_000): Promise<string | null> {
    await this.#fill(() => this.#lines.length > 0, timeoutMs);
    return this.#lines.shift() ?? null;
  }

  /** Sends `p<token>` and reads up to its answer; returns the lines before it. */
  async roundTrip(token = "sync", timeoutMs = 10_000): Promise<string[]> {
    await this.send(`p${token}\n`);
    const before: string[] = [];
    while (true) {
      const line = await this.readLine(timeoutMs);
      if (line === null) {
        throw new Error(`Connection closed before the answer to p${token}`);
      }
      if (line === `p${token}`) return before;
      before.push(line);
    }
  }

  /** Reads until the server closes the connection; returns every line it sent first. */
  async untilClosed(timeoutMs = 10_000): Promise<string[]> {
    await this.#fill(() => false, timeoutMs);
    return this.#lines.splice(0);
  }

  /** Closes our side (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  async #fill(enough: () => boolean, timeoutMs: number): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.close();
    }, timeoutMs);
    try {
      while (!enough() && !this.#eof) {
        let count: number | null;
        try {
          count = await this.conn.read(buffer);
        } catch (error) {
          if (timedOut) throw new Error(`No answer within ${timeoutMs} ms`);
          if (error instanceof Deno.errors.ConnectionReset) count = null;
          else throw error;
        }
        if (count === null) {
          this.#eof = true;
          break;
        }
        this.#framer.push(
          buffer.subarray(0, count),
          (line) => void this.#lines.push(decoder.decode(line)),
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/** em's log lines captured in memory; disposing resets logging. */
export interface LogCapture extends AsyncDisposable {
  /** Every line so far, e.g. `em WARN Closed 127.0.0.1:5000: …`. */
  readonly lines: readonly string[];
  /** Lines matching `pattern` so far. */
  matching(pattern: RegExp): string[];
  /** Resolves with the first line matching `pattern`, waiting for it if need be. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Sends em's log (level info and up) to memory until disposed. */
export async function captureLogs(): Promise<LogCapture> {
  const lines: string[] = [];
  const listeners = new Set<(line: string) => void>();
  await configureLogging({
    level: "info",
    write: (line) => {
      lines.push(line);
      for (const listener of listeners) listener(line);
    },
  });
  return {
    lines,
    matching: (pattern) => lines.filter((line) => pattern.test(line)),
    waitFor(pattern, timeoutMs = 10_000) {
      const found = lines.find((line) => pattern.test(line));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const listener = (line: string): void => {
          if (!pattern.test(line)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve(line);
        };
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(
            new Error(
              `No log line matched ${pattern} within ${timeoutMs} ms:\n${
                lines.join("\n")
              }`,
            ),
          );
        }, timeoutMs);
        listeners.add(listener);
      });
    },
    async [Symbol.asyncDispose]() {
      await configureLogging({ level: null });
    },
  };
}

/** Escapes text for use inside a RegExp. */
export function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
