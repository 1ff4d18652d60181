/**
 * A minimal Redis client for the benchmarks: RESP2 over `Deno.connect`, one command at a time per
 * connection (no pipelining), replies parsed from a growing buffer. Enough for `SET … NX PX` and
 * `EVAL`; not a general client.
 * @module
 */

/** A RESP2 reply: simple string, integer, bulk string (null when absent) or array. */
export type RespValue = string | number | null | RespValue[];

/** A reply of type error (`-ERR …`). */
export class RespError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RespError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CR = 13;

/** Encodes a command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly string[]): Uint8Array {
  let text = `*${args.length}\r\n`;
  for (const arg of args) {
    text += `$${encoder.encode(arg).length}\r\n${arg}\r\n`;
  }
  return encoder.encode(text);
}

/**
 * Parses one reply from `bytes` at `offset`.
 * @returns the value and the offset after it, or undefined when the bytes end first
 */
export function parseReply(
  bytes: Uint8Array,
  offset: number,
): { value: RespValue | RespError; next: number } | undefined {
  const end = bytes.indexOf(CR, offset);
  if (end === -1 || end + 1 >= bytes.length) return undefined;
  const type = bytes[offset];
  const line = decoder.decode(bytes.subarray(offset + 1, end));
  const next = end + 2;
  switch (type) {
    case 0x2b: // +
      return { value: line, next };
    case 0x2d: // -
      return { value: new RespError(line), next };
    case 0x3a: // :
      return { value: Number(line), next };
    case 0x24: { // $
      const length = Number(line);
      if (length < 0) return { value: null, next };
      if (next + length + 2 > bytes.length) return undefined;
      const value = decoder.decode(bytes.subarray(next, next + length));
      return { value, next: next + length + 2 };
    }
    case 0x2a: { // *
      const count = Number(line);
      if (count < 0) return { value: null, next };
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(bytes, at);
        if (item === undefined) return undefined;
        if (item.value instanceof RespError) return item;
        items.push(item.value);
        at = item.next;
      }
      return { value: items, next: at };
    }
    default:
      throw new RespError(`Bad RESP reply type ${type}`);
  }
}

/** One connection to a Redis server. */
export class RespClient implements AsyncDisposable {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects to Redis on 127.0.0.1:`port`. */
  static async connect(port: number): Promise<RespClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RespClient(conn);
  }

  /**
   * Sends one command and reads its reply.
   * @throws {RespError} for an error reply
   */
  async command(...args: string[]): Promise<RespValue> {
    const bytes = encodeCommand(args);
    let written = 0;
    while (written < bytes.length) {
      written += await this.#conn.write(bytes.subarray(written));
    }
    const chunk = new Uint8Array(4096);
    while (true) {
      const reply = this.#buffer.length > 0
        ? parseReply(this.#buffer, 0)
        : undefined;
      if (reply !== undefined) {
        this.#buffer = this.#buffer.subarray(reply.next);
        if (reply.value instanceof RespError) throw reply.value;
        return reply.value;
      }
      const count = await this.#conn.read(chunk);
      if (count === null) throw new RespError("Connection closed by Redis");
      const grown = new Uint8Array(this.#buffer.length + count);
      grown.set(this.#buffer);
      grown.set(chunk.subarray(0, count), this.#buffer.length);
      this.#buffer = grown;
    }
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
