// Raw WebSocket clients for tests: one that behaves like AGL's C client (Content-Length: 0 on the
// upgrade GET, unmasked frames, strict parsing of what the server sends) and one like a browser
// (Origin, masked frames).
import {
  encodeMaskedWsFrame,
  encodeWsFrame,
  WS_ACCEPT_GUID,
  WS_OPCODES,
  WsFrameDecoder,
} from "../../protocol/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How a test client connects. */
export interface AfbClientOptions {
  /** Request path and query. @default {"/api"} */
  readonly path?: string;
  /** Extra request headers (e.g. Origin, Authorization). */
  readonly headers?: Record<string, string>;
  /** Mask frames as browsers must; AGL's C client does not. @default {false} */
  readonly masked?: boolean;
  /** The subprotocol offered; null: none. @default {"x-afb-ws-json1"} */
  readonly subprotocol?: string | null;
  /** False: never read after the upgrade (a client that stalls). @default {true} */
  readonly reading?: boolean;
  /** Connect with TLS (`wss:`), trusting these CA certificates (PEM). */
  readonly caCerts?: string[];
}

/** What the server said instead of upgrading. */
export interface Refusal {
  readonly status: number;
  readonly text: string;
}

/** One message (or control frame) from the server. */
export interface ServerMessage {
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/** A connected x-afb-ws-json1 client over a raw socket. */
export class AfbTestClient implements AsyncDisposable {
  readonly conn: Deno.Conn;
  readonly masked: boolean;
  #decoder = new WsFrameDecoder(64 * 1024 * 1024);
  #messages: ServerMessage[] = [];
  #wake: (() => void) | undefined;
  #ended = false;
  #reading: Promise<void>;
  #next = 0;
  /** Events received while waiting for replies, in order. */
  readonly events: unknown[][] = [];

  private constructor(
    conn: Deno.Conn,
    masked: boolean,
    rest: Uint8Array,
    reading: boolean,
  ) {
    this.conn = conn;
    this.masked = masked;
    this.#onBytes(rest);
    this.#reading = reading ? this.#readLoop() : Promise.resolve();
  }

  /** Connects and upgrades; a refusal (non-101) is returned with the server's status and body. */
  static async open(
    port: number,
    options: AfbClientOptions = {},
  ): Promise<AfbTestClient | Refusal> {
    const conn = options.caCerts === undefined
      ? await Deno.connect({ hostname: "127.0.0.1", port })
      : await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: options.caCerts,
      });
    const key = btoa(
      String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
    );
    const protocol = options.subprotocol === undefined
      ? "x-afb-ws-json1"
      : options.subprotocol;
    const headers = {
      Host: `127.0.0.1:${port}`,
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": key,
      "Sec-WebSocket-Version": "13",
      ...(protocol === null ? {} : { "Sec-WebSocket-Protocol": protocol }),
      "Content-Length": "0",
      ...options.headers,
    };
    let request = `GET ${options.path ?? "/api"} HTTP/1.1\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      request += `${name}: ${value}\r\n`;
    }
    await conn.write(encoder.encode(request + "\r\n"));
    const { head, rest } = await readHead(conn);
    const status = Number(head.match(/^HTTP\/1\.1 (\d{3}) /)?.[1] ?? 0);
    if (status !== 101) {
      const body = decoder.decode(rest) + await readRest(conn);
      conn.close();
      return { status, text: body };
    }
    await checkSwitching(head, key);
    return new AfbTestClient(
      conn,
      options.masked ?? false,
      rest,
      options.reading ?? true,
    );
  }

  /** Sends a text frame holding `value` as JSON (or the string as it is). */
  async send(value: unknown): Promise<void> {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    await this.sendFrame(WS_OPCODES.TEXT, encoder.encode(text));
  }

  /** Sends one frame, masked or not as the client does. */
  async sendFrame(opcode: number, payload: Uint8Array): Promise<void> {
    const frame = this.masked
      ? encodeMaskedWsFrame(
        opcode,
        payload,
        crypto.getRandomValues(new Uint8Array(4)),
      )
      : encodeWsFrame(opcode, payload);
    await this.sendRaw(frame);
  }

  /** Sends bytes as they are. */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length;) {
      done += await this.conn.write(bytes.subarray(done));
    }
  }

  /** Calls a verb; resolves with the reply array `[3|4, id, resp]`; events meanwhile go to `events`. */
  async call(verb: string, args?: unknown, token?: string): Promise<unknown[]> {
    const id = `c${++this.#next}`;
    await this.send(
      token === undefined
        ? [2, id, verb, args ?? null]
        : [2, id, verb, args ?? null, token],
    );
    for (;;) {
      const message = await this.nextJson();
      if (message[0] === 5) {
        this.events.push(message);
        continue;
      }
      if (message[1] !== id) {
        throw new Error(`Reply for an unknown id: ${JSON.stringify(message)}`);
      }
      return message;
    }
  }

  /** The next event (from `events` first). */
  async nextEvent(timeoutMs = 5_000): Promise<unknown[]> {
    const queued = this.events.shift();
    if (queued) return queued;
    const message = await this.nextJson(timeoutMs);
    if (message[0] !== 5) {
      throw new Error(`Expected an event: ${JSON.stringify(message)}`);
    }
    return message;
  }

  /**
   * The next text message, parsed strictly as AGL's C client does: one compact JSON array with
   * nothing around it.
   */
  async nextJson(timeoutMs = 5_000): Promise<unknown[]> {
    const message = await this.next(timeoutMs);
    if (message.opcode !== WS_OPCODES.TEXT) {
      throw new Error(
        `Expected a text frame, got opcode ${message.opcode}: ${
          decoder.decode(message.payload)
        }`,
      );
    }
    const text = decoder.decode(message.payload);
    if (
      !/^\[[^\n]*\]$/.test(text) || text !== JSON.stringify(JSON.parse(text))
    ) {
      throw new Error(`Not one compact JSON array: ${JSON.stringify(text)}`);
    }
    return JSON.parse(text);
  }

  /** The next message or control frame; rejects when the server closed the socket first. */
  async next(timeoutMs = 5_000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.#messages.length === 0) {
      if (this.#ended) throw new Error("The server closed the connection");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No message within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return this.#messages.shift()!;
  }

  /** Reads until the server's close frame; returns its code and reason. */
  async closeFrame(
    timeoutMs = 5_000,
  ): Promise<{ code: number; reason: string }> {
    for (;;) {
      const message = await this.next(timeoutMs);
      if (message.opcode !== WS_OPCODES.CLOSE) continue;
      const { payload } = message;
      return {
        code: payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 1005,
        reason: decoder.decode(payload.subarray(2)),
      };
    }
  }

  /** Resolves once the server closed the TCP connection. */
  async ended(): Promise<void> {
    await this.#reading;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch { /* closed */ }
    await this.#reading;
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const count = await this.conn.read(buffer);
        if (count === null) break;
        this.#onBytes(buffer.subarray(0, count));
      }
    } catch { /* closed */ }
    this.#ended = true;
    this.#wake?.();
  }

  #onBytes(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (
      bytes.length >= 2 && this.#decoder.pendingBytes === 0 &&
      (bytes[1]! & 0x80) !== 0
    ) {
      throw new Error("The server sent a masked frame");
    }
    this.#decoder.push(bytes, (opcode, payload) => {
      this.#messages.push({ opcode, payload: payload.slice() });
    });
    this.#wake?.();
  }
}

async function readHead(
  conn: Deno.Conn,
): Promise<{ head: string; rest: Uint8Array }> {
  let bytes = new Uint8Array(0);
  const buffer = new Uint8Array(4096);
  for (;;) {
    const text = decoder.decode(bytes);
    const end = text.indexOf("\r\n\r\n");
    if (end !== -1) {
      const headBytes = encoder.encode(text.slice(0, end + 4)).length;
      return { head: text.slice(0, end), rest: bytes.slice(headBytes) };
    }
    const count = await conn.read(buffer);
    if (count === null) return { head: text, rest: new Uint8Array(0) };
    const joined = new Uint8Array(bytes.length + count);
    joined.set(bytes);
    joined.set(buffer.subarray(0, count), bytes.length);
    bytes = joined;
  }
}

async function readRest(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(4096);
  let text = "";
  for (;;) {
    const count = await conn.read(buffer).catch(() => null);
    if (count === null) return text;
    text += decoder.decode(buffer.subarray(0, count));
  }
}

/** AGL's client needs these headers spelled exactly so, and the right accept value. */
async function checkSwitching(head: string, key: string): Promise<void> {
  const lines = head.split("\r\n");
  const digest = await crypto.subtle.digest(
    "SHA-1",
    encoder.encode(key + WS_ACCEPT_GUID),
  );
  const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
  for (
    const wanted of [
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Protocol: x-afb-ws-json1",
      `Sec-WebSocket-Accept: ${accept}`,
    ]
  ) {
    if (!lines.includes(wanted)) {
      throw new Error(`No "${wanted}" in the 101 response:\n${head}`);
    }
  }
}

/** Opens a client, failing the test on a refusal. */
export async function openAfb(
  port: number,
  options?: AfbClientOptions,
): Promise<AfbTestClient> {
  const client = await AfbTestClient.open(port, options);
  if (!(client instanceof AfbTestClient)) {
    throw new Error(`Upgrade refused: ${client.status} ${client.text}`);
  }
  return client;
}
