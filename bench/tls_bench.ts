/**
 * tls: fan-out over TLS beside the same over plain TCP, and what a connection costs emd either
 * way. Two fresh emds (one with `--tls-cert`/`--tls-key`, a certificate made with openssl for
 * the run), S receivers (100, `--quick` 10) and one pipelining publisher in this process, the
 * same harness for both; the kinds take turns `--reps` times. `M msg/s` counts deliveries;
 * `emd KB per conn` is emd's RSS growth over the S receivers and the publisher, divided by S + 1.
 * `round trip µs`: a ping and its answer on an open connection. After each turn's bursts, one
 * connection of each kind, open side by side, takes 5000 pings (`--quick` 200) in blocks of 200
 * (50), the kinds alternating block by block, so that a burst of load on the machine hits both
 * alike; a kind's figure is the median of the turns' means, and the ratio row is the median of the
 * turns' ratios (each turn's: the median of its blocks' TLS ÷ plain; issue 17 wants at most about
 * 2×), every turn's ratio listed beside it.
 * @module
 */
import { join } from "node:path";
import { rssKb } from "./_proc.ts";
import { writeAll } from "../server/transports/write_all.ts";
import { withDeadline } from "./_deadline.ts";
import type { Emd } from "./_emd.ts";
import {
  type BenchContext,
  round,
  type Row,
  type Workload,
  type WorkloadResult,
} from "./workload.ts";

const encoder = new TextEncoder();
const LF = 10;
const TRIGGER = "Tbench_tls\n";

interface Kind {
  readonly label: "plain" | "tls";
  readonly emd: Emd;
  readonly caCerts?: string[];
}

async function open(kind: Kind): Promise<Deno.Conn> {
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: kind.emd.port,
  });
  conn.setNoDelay(true);
  if (kind.caCerts === undefined) return conn;
  return await Deno.startTls(conn, {
    hostname: "127.0.0.1",
    caCerts: kind.caCerts,
  });
}

/** Reads until `lines` line ends arrived (or the peer closed); resolves with how many did. */
async function readLines(conn: Deno.Conn, lines: number): Promise<number> {
  const buffer = new Uint8Array(64 * 1024);
  let seen = 0;
  while (seen < lines) {
    const count = await conn.read(buffer);
    if (count === null) break;
    const read = buffer.subarray(0, count);
    for (let at = read.indexOf(LF); at !== -1; at = read.indexOf(LF, at + 1)) {
      seen++;
    }
  }
  return seen;
}

/** One burst: S receivers subscribe (a ping answered: flags processed), M triggers, all read. */
async function burst(
  kind: Kind,
  subs: number,
  messages: number,
): Promise<{ rate: number; kbPerConn: number | undefined }> {
  const before = rssKb(kind.emd.pid);
  const receivers = await Promise.all(
    Array.from({ length: subs }, () => open(kind)),
  );
  const publisher = await open(kind);
  try {
    await Promise.all(receivers.map(async (conn) => {
      await writeAll(conn, encoder.encode("H1.2\nF1\npready\n"));
      await readLines(conn, 2); // the hello and the ping's answer
    }));
    await writeAll(publisher, encoder.encode("H1.1\n"));
    await readLines(publisher, 1);
    const after = rssKb(kind.emd.pid);
    const started = performance.now();
    const got = receivers.map((conn) => readLines(conn, messages));
    await writeAll(publisher, encoder.encode(TRIGGER.repeat(messages)));
    const counts = await withDeadline(Promise.all(got), 60_000, "deliveries");
    const seconds = (performance.now() - started) / 1000;
    const delivered = counts.reduce((sum, n) => sum + n, 0);
    return {
      rate: delivered / seconds,
      kbPerConn: before === undefined || after === undefined
        ? undefined
        : (after - before) / (subs + 1),
    };
  } finally {
    for (const conn of [...receivers, publisher]) conn.close();
  }
}

/** Milliseconds for `count` pings, each answered before the next is sent. */
async function pings(conn: Deno.Conn, count: number): Promise<number> {
  const ping = encoder.encode("pr\n");
  const buffer = new Uint8Array(1024);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    await writeAll(conn, ping);
    for (;;) { // the answer is one short line
      const read = await conn.read(buffer);
      if (read === null) throw new Error("emd closed during the round trips");
      if (buffer.subarray(0, read).includes(LF)) break;
    }
  }
  return performance.now() - started;
}

/**
 * Round trips on a plain and a TLS connection open side by side, `blocks` blocks of `per` pings
 * each, the kinds alternating block by block: each kind's mean µs and the median of the blocks'
 * TLS ÷ plain.
 */
async function roundTrips(
  plain: Kind,
  secure: Kind,
  blocks: number,
  per: number,
): Promise<{ plain: number; tls: number; ratio: number }> {
  const conns: Deno.Conn[] = [];
  try {
    for (const kind of [plain, secure]) {
      const conn = await open(kind);
      conns.push(conn);
      await writeAll(conn, encoder.encode("H1.2\npwarm\n"));
      await readLines(conn, 2);
    }
    const [p, t] = conns as [Deno.Conn, Deno.Conn];
    let plainMs = 0, tlsMs = 0;
    const ratios: number[] = [];
    for (let block = 0; block < blocks; block++) {
      let plainBlock: number, tlsBlock: number;
      if (block % 2 === 0) {
        plainBlock = await pings(p, per);
        tlsBlock = await pings(t, per);
      } else {
        tlsBlock = await pings(t, per);
        plainBlock = await pings(p, per);
      }
      plainMs += plainBlock;
      tlsMs += tlsBlock;
      ratios.push(tlsBlock / plainBlock);
    }
    const count = blocks * per;
    return {
      plain: plainMs * 1000 / count,
      tls: tlsMs * 1000 / count,
      ratio: median(ratios),
    };
  } finally {
    for (const conn of conns) conn.close();
  }
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
  }
}

/** A CA and a server certificate for 127.0.0.1, in `dir`. */
async function certificates(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  await openssl(dir, [
    ..."req -x509 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=em-bench-CA"
      .split(" "),
    ...ec,
    ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
  await openssl(dir, [
    ..."req -nodes -keyout key.pem -out server.csr -subj /CN=localhost".split(
      " ",
    ),
    ...ec,
  ]);
  await Deno.writeTextFile(
    join(dir, "server.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
      "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
  );
  await openssl(
    dir,
    ("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial" +
      " -out cert.pem -days 2 -extfile server.ext").split(" "),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function run(context: BenchContext): Promise<WorkloadResult> {
  const { quick, reps } = context.options;
  const subs = quick ? 10 : 100;
  const messages = quick ? 2_000 : 20_000;
  const dir = await Deno.makeTempDir({ prefix: "em_bench_tls_" });
  try {
    try {
      await certificates(dir);
    } catch (error) {
      context.progress(`tls: skipped: ${(error as Error).message}`);
      return {
        rows: [{ skipped: "openssl is needed for a certificate" }],
        failures: [],
      };
    }
    await using plain = await context.freshEmd();
    await using tls = await context.freshEmd({
      tls: { certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") },
    });
    const kinds: Kind[] = [
      { label: "plain", emd: plain },
      {
        label: "tls",
        emd: tls,
        caCerts: [await Deno.readTextFile(join(dir, "ca.pem"))],
      },
    ];
    const found = new Map<
      string,
      { rates: number[]; kbs: number[]; trips: number[] }
    >(kinds.map((kind) => [kind.label, { rates: [], kbs: [], trips: [] }]));
    const tripRatios: number[] = [];
    for (let rep = 0; rep < Math.max(1, reps); rep++) {
      for (const kind of rep % 2 === 0 ? kinds : [...kinds].reverse()) {
        const { rate, kbPerConn } = await burst(kind, subs, messages);
        const of = found.get(kind.label)!;
        of.rates.push(rate);
        if (kbPerConn !== undefined) of.kbs.push(kbPerConn);
        context.progress(`tls: ${kind.label}: ${round(rate / 1e6)} M msg/s`);
      }
      const trip = await roundTrips(
        kinds[0]!,
        kinds[1]!,
        quick ? 4 : 25,
        quick ? 50 : 200,
      );
      found.get("plain")!.trips.push(trip.plain);
      found.get("tls")!.trips.push(trip.tls);
      tripRatios.push(round(trip.ratio));
      context.progress(
        `tls: round trip ${round(trip.plain)} µs plain, ${
          round(trip.tls)
        } µs TLS (${round(trip.ratio)}×)`,
      );
    }
    const rows: Row[] = kinds.map(({ label }) => {
      const { rates, kbs, trips } = found.get(label)!;
      return {
        transport: label,
        S: subs,
        M: messages,
        "M msg/s": round(median(rates) / 1e6),
        "emd KB per conn": kbs.length === 0 ? null : round(median(kbs)),
        "round trip µs": round(median(trips)),
        "each turn": "–",
      };
    });
    const [p, t] = rows as [Row, Row];
    rows.push({
      transport: "tls ÷ plain",
      S: subs,
      M: messages,
      "M msg/s": round((t["M msg/s"] as number) / (p["M msg/s"] as number)),
      "emd KB per conn": typeof t["emd KB per conn"] === "number" &&
          typeof p["emd KB per conn"] === "number"
        ? round(t["emd KB per conn"] / p["emd KB per conn"])
        : null,
      "round trip µs": round(median(tripRatios)),
      "each turn": tripRatios.join(", "),
    });
    return { rows, failures: [] };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Fan-out and memory per connection over TLS beside plain TCP. */
export const tls: Workload = {
  name: "tls",
  summary:
    "fan-out, emd's memory per connection and a round trip, TLS beside plain TCP",
  run,
};
