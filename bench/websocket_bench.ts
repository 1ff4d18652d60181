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
import { WsFrameDecoder } from "../protocol/mod.ts";
import { type Emd, startEmd } from "./_emd.ts";
import { hasProgram } from "./_yardstick.ts";
import { type Nats, startNats } from "./_nats_websocket.ts";
import {
  counting,
  emTcpReceiver,
  emWsReceiver,
  masked,
  natsWsReceiver,
  type Receiver,
  upgrade,
} from "./_ws_receivers.ts";
import { writeAll } from "../server/transports/write_all.ts";
import {
  type BenchContext,
  round,
  type Row,
  type Workload,
  type WorkloadResult,
} from "./workload.ts";

const encoder = new TextEncoder();
const SPEED_AGENT = fileURLToPath(
  new URL("../examples/speed.ts", import.meta.url),
);
const IDLE_MS = 3_000;

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
