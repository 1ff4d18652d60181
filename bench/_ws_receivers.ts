/**
 * The websocket workload's receivers (bench/websocket_bench.ts): raw sockets that count deliveries
 * by scanning bytes (em over TCP, em over WebSocket, NATS over WebSocket), and the upgrade they share.
 * @module
 */
import {
  encodeMaskedWsFrame,
  WS_OPCODES,
  WsFrameDecoder,
} from "../protocol/mod.ts";
import { writeAll } from "../server/transports/write_all.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A receiver: a socket that counts the deliveries it decodes. */
export interface Receiver {
  count: number;
  lastMs: number;
  close(): void;
}

/** A raw socket that counts; `onBytes` returns how many deliveries a chunk held. */
export function counting(
  conn: Deno.Conn,
  onBytes: (bytes: Uint8Array) => number,
): Receiver {
  const receiver: Receiver = {
    count: 0,
    lastMs: 0,
    close: () => {
      try {
        conn.close();
      } catch { /* closed */ }
    },
  };
  void (async () => {
    const buffer = new Uint8Array(256 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) return;
        const got = onBytes(buffer.subarray(0, n));
        if (got > 0) {
          receiver.count += got;
          receiver.lastMs = performance.now();
        }
      }
    } catch { /* closed */ }
  })();
  return receiver;
}

export async function emTcpReceiver(port: number): Promise<Receiver> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let ready: () => void;
  const confirmed = new Promise<void>((resolve) => ready = resolve);
  let armed = false;
  const receiver = counting(conn, (bytes) => {
    if (!armed) {
      if (decoder.decode(bytes).includes("p1\n")) {
        armed = true;
        ready();
      }
      return 0;
    }
    let lines = 0;
    for (
      let i = bytes.indexOf(0x0a);
      i !== -1;
      i = bytes.indexOf(0x0a, i + 1)
    ) lines++;
    return lines;
  });
  await writeAll(conn, encoder.encode("H1.2\nF1\np1\n"));
  await confirmed;
  return receiver;
}

export async function emWsReceiver(port: number): Promise<Receiver> {
  const { conn, rest } = await upgrade(port, "/api", "x-afb-ws-json1");
  const frames = new WsFrameDecoder(1 << 20);
  let ready: () => void;
  const confirmed = new Promise<void>((resolve) => ready = resolve);
  let armed = false;
  const count = markerCounter("[5,");
  const receiver = counting(conn, (bytes) => {
    if (!armed) { // the subscription's reply; nothing else comes before it
      frames.push(bytes, () => {
        armed = true;
        ready();
      });
      return 0;
    }
    return count(bytes);
  });
  await writeAll(conn, masked('[2,"s","em/subscribe",{"event":"bench"}]'));
  if (rest.length > 0) frames.push(rest, () => ready());
  await confirmed;
  return receiver;
}

/**
 * Counts a 3-byte marker in a raw byte stream by `indexOf` (em WebSocket: `[5,`, an event's
 * start; NATS: `MSG`), also across read boundaries: the same cost per event for every side.
 */
function markerCounter(marker: string): (bytes: Uint8Array) => number {
  const [a, b, c] = [...marker].map((ch) => ch.charCodeAt(0)) as [
    number,
    number,
    number,
  ];
  let tail = new Uint8Array(0);
  return (chunk) => {
    const bytes = tail.length === 0 ? chunk : joinBytes(tail, chunk);
    let found = 0;
    for (let i = bytes.indexOf(a); i !== -1; i = bytes.indexOf(a, i + 1)) {
      if (bytes[i + 1] === b && bytes[i + 2] === c) found++;
    }
    tail = bytes.slice(-2); // too short for a marker; one cut short is counted next read
    return found;
  };
}

function joinBytes(x: Uint8Array, y: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(x.length + y.length);
  bytes.set(x);
  bytes.set(y, x.length);
  return bytes;
}

export async function natsWsReceiver(port: number): Promise<Receiver> {
  const { conn } = await upgrade(port, "/", undefined);
  const frames = new WsFrameDecoder(1 << 24);
  let ready: () => void;
  const confirmed = new Promise<void>((resolve) => ready = resolve);
  let armed = false;
  const count = markerCounter("MSG");
  const receiver = counting(conn, (bytes) => {
    if (!armed) { // INFO, then the PONG that confirms the subscription
      frames.push(bytes, (_opcode, payload) => {
        if (decoder.decode(payload).includes("PONG")) {
          armed = true;
          ready();
        }
      });
      return 0;
    }
    return count(bytes);
  });
  await writeAll(
    conn,
    masked('CONNECT {"verbose":false}\r\nSUB bench 1\r\nPING\r\n'),
  );
  await confirmed;
  return receiver;
}

export function masked(text: string): Uint8Array {
  return encodeMaskedWsFrame(
    WS_OPCODES.TEXT,
    encoder.encode(text),
    crypto.getRandomValues(new Uint8Array(4)),
  );
}

export async function upgrade(
  port: number,
  path: string,
  protocol: string | undefined,
): Promise<{ conn: Deno.Conn; rest: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const key = btoa(
    String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))),
  );
  await writeAll(
    conn,
    encoder.encode(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : "") + "\r\n",
    ),
  );
  let bytes = new Uint8Array(0);
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`No upgrade from port ${port}`);
    const joined = new Uint8Array(bytes.length + n);
    joined.set(bytes);
    joined.set(buffer.subarray(0, n), bytes.length);
    bytes = joined;
    const text = decoder.decode(bytes);
    const end = text.indexOf("\r\n\r\n");
    if (end === -1) continue;
    if (!text.startsWith("HTTP/1.1 101")) {
      throw new Error(`Upgrade refused: ${text.split("\r\n")[0]}`);
    }
    return { conn, rest: bytes.slice(end + 4) };
  }
}
