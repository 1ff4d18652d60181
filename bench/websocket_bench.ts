/**
 * websocket: fan-out to S WebSocket receivers (1, 100, 1000) and call round trips, with em's TCP
 * figures and nats-server's WebSocket listener (`websocket { no_tls: true }`) beside them in the
 * same run. One publisher writes M empty triggers back to back (em: `Tbench` lines over TCP; NATS:
 * `PUB bench 0` over TCP); receivers count what arrives by scanning raw bytes with `indexOf` (em
 * WebSocket: `[5,`; em TCP: line ends; NATS: `MSG`), so the load generator's cost per delivered
 * event is about the same whichever server it measures. Receivers and publisher share this
 * process; the machine is shared, so only ratios within one run mean anything.
 *
 * ```sh
 * deno run -A bench/websocket_bench.ts [--quick]
 * deno task bench --only websocket
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";
import { connect } from "../mod.ts";
import {
  encodeMaskedWsFrame,
  WS_OPCODES,
  WsFrameDecoder,
} from "../protocol/mod.ts";
import { type Emd, startEmd } from "./_emd.ts";
import { hasProgram } from "./_yardstick.ts";
import { type Nats, startNats } from "./_nats_websocket.ts";
import {
  type BenchContext,
  round,
  type Row,
  type Workload,
  type WorkloadResult,
} from "./workload.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SPEED_AGENT = fileURLToPath(
  new URL("../examples/speed.ts", import.meta.url),
);
const IDLE_MS = 3_000;

/** A receiver: a socket that counts the deliveries it decodes. */
interface Receiver {
  count: number;
  lastMs: number;
  close(): void;
}

type Kind = "em ws" | "em tcp" | "nats ws";

/** The websocket workload of `deno task bench`. */
export const websocket: Workload = {
  name: "websocket",
  summary:
    "WebSocket fan-out (1/100/1000 receivers) and call round trips: em ws, em tcp, nats-server ws",
  run: (context) => runWebsocketBench(context),
};

async function runWebsocketBench(
  context: BenchContext,
): Promise<WorkloadResult> {
  const { quick } = context.options;
  const rows: Row[] = [];
  const failures: string[] = [];
  await using emd = await emdWithHttp();
  const nats = await hasProgram("nats-server") ? await startNats() : undefined;
  try {
    for (const subs of [1, 100, 1000]) {
      const messages = Math.max(
        quick ? 20 : 200,
        Math.round((quick ? 20_000 : 200_000) / subs),
      );
      const row: Row = { workload: "fan-out", receivers: subs, messages };
      for (const kind of ["em ws", "em tcp", "nats ws"] as Kind[]) {
        if (kind === "nats ws" && nats === undefined) {
          row[kind] = null;
          continue;
        }
        const result = await fanOut(kind, subs, messages, emd, nats);
        row[`${kind} (M/s)`] = round(result.rate / 1e6);
        if (result.lost > 0) {
          failures.push(`websocket ${kind} S=${subs}: ${result.lost} lost`);
        }
      }
      const ws = row["em ws (M/s)"] as number,
        peer = row["nats ws (M/s)"] as number | undefined;
      row["em ws ÷ em tcp"] = round(ws / (row["em tcp (M/s)"] as number), 2);
      row["em ws ÷ nats ws"] = peer ? round(ws / peer, 2) : null;
      context.progress(`websocket fan-out S=${subs}: ${JSON.stringify(row)}`);
      rows.push(row);
    }
    const seconds = quick ? 0.3 : 2;
    const tcp = await tcpCalls(emd.port, seconds);
    const ws = await wsCalls(emd.httpPort, seconds);
    rows.push({
      workload: "calls",
      receivers: 1,
      messages: null,
      "em ws (M/s)": round(ws / 1e6),
      "em tcp (M/s)": round(tcp / 1e6),
      "nats ws (M/s)": null,
      "em ws ÷ em tcp": round(ws / tcp, 2),
      "em ws ÷ nats ws": null,
    });
    context.progress(
      `websocket calls: ws ${round(ws)} /s, tcp ${round(tcp)} /s`,
    );
  } finally {
    await nats?.stop();
  }
  return { rows, failures };
}

function emdWithHttp(): Promise<Emd> {
  return startEmd({ http: true, agents: [SPEED_AGENT] });
}

/** One burst: S receivers of `kind`, M messages; deliveries per second and how many were lost. */
async function fanOut(
  kind: Kind,
  subs: number,
  messages: number,
  emd: Emd,
  nats: Nats | undefined,
): Promise<{ rate: number; lost: number }> {
  const open = kind === "em ws"
    ? () => emWsReceiver(emd.httpPort)
    : kind === "em tcp"
    ? () => emTcpReceiver(emd.port)
    : () => natsWsReceiver(nats!.wsPort);
  const receivers: Receiver[] = [];
  try {
    for (let i = 0; i < subs; i += 100) {
      receivers.push(
        ...await Promise.all(
          Array.from({ length: Math.min(100, subs - i) }, open),
        ),
      );
    }
    const publisher = kind === "nats ws"
      ? await Deno.connect({ hostname: "127.0.0.1", port: nats!.port })
      : await Deno.connect({ hostname: "127.0.0.1", port: emd.port });
    try {
      const line = kind === "nats ws" ? "PUB bench 0\r\n\r\n" : "Tbench\n";
      const prefix = kind === "nats ws"
        ? 'CONNECT {"verbose":false}\r\n'
        : "H1.1\n";
      const started = performance.now();
      await writeAll(publisher, encoder.encode(prefix));
      const chunk = encoder.encode(line.repeat(1000));
      for (let sent = 0; sent < messages; sent += 1000) {
        await writeAll(
          publisher,
          sent + 1000 <= messages
            ? chunk
            : encoder.encode(line.repeat(messages - sent)),
        );
      }
      const expected = subs * messages;
      const total = () => receivers.reduce((n, r) => n + r.count, 0);
      let lastProgress = performance.now(), seen = 0;
      while (total() < expected && performance.now() - lastProgress < IDLE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (total() !== seen) {
          seen = total();
          lastProgress = performance.now();
        }
      }
      const last = Math.max(...receivers.map((r) => r.lastMs));
      return {
        rate: total() / ((last - started) / 1000),
        lost: expected - total(),
      };
    } finally {
      publisher.close();
    }
  } finally {
    for (const receiver of receivers) receiver.close();
  }
}

/** A raw socket that counts; `onBytes` returns how many deliveries a chunk held. */
function counting(
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

async function emTcpReceiver(port: number): Promise<Receiver> {
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

async function emWsReceiver(port: number): Promise<Receiver> {
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

async function natsWsReceiver(port: number): Promise<Receiver> {
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

function masked(text: string): Uint8Array {
  return encodeMaskedWsFrame(
    WS_OPCODES.TEXT,
    encoder.encode(text),
    crypto.getRandomValues(new Uint8Array(4)),
  );
}

async function upgrade(
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

/** Sequential `speed/get` round trips per second over TCP (em's client). */
async function tcpCalls(port: number, seconds: number): Promise<number> {
  await using client = await connect({ port });
  let calls = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await client.call("speed/get", { unit: "kmh" });
    calls++;
  }
  return calls / seconds;
}

/** Sequential `speed/get` round trips per second over x-afb-ws-json1. */
async function wsCalls(port: number, seconds: number): Promise<number> {
  const { conn, rest } = await upgrade(port, "/api", "x-afb-ws-json1");
  const frames = new WsFrameDecoder(1 << 20);
  let wake: (() => void) | undefined;
  let replies = 0;
  const receiver = counting(conn, (bytes) => {
    frames.push(bytes, () => {
      replies++;
      wake?.();
    });
    return 0;
  });
  if (rest.length > 0) frames.push(rest, () => replies++);
  try {
    let calls = 0;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const replied = new Promise<void>((resolve) => wake = resolve);
      await writeAll(conn, masked(`[2,"${calls}","speed/get",{"unit":"kmh"}]`));
      await replied;
      calls++;
    }
    return calls / seconds;
  } finally {
    receiver.close();
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    done += await conn.write(bytes.subarray(done));
  }
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const { markdownTable } = await import("./_table.ts");
  const result = await runWebsocketBench({
    options: { quick } as BenchContext["options"],
    emd: () => Promise.reject(new Error("not shared")),
    freshEmd: () => Promise.reject(new Error("not shared")),
    progress: (line) =>
      Deno.stderr.writeSync(encoder.encode(`bench: ${line}\n`)),
  });
  // deno-lint-ignore no-console
  console.log(markdownTable(result.rows));
  if (result.failures.length > 0) {
    // deno-lint-ignore no-console
    console.log(result.failures.join("\n"));
    Deno.exitCode = 1;
  }
}
