// 10,000 connect/disconnect cycles of every kind (closed at once, after the hello, subscribed,
// holding or queueing for a lock, mid-message, politely; silent until the hello timeout) against a
// server in its own process must leave nothing behind: its open descriptors and live timers come
// back to exactly where they were after a warm-up, and its heap after full collections to within
// MAX_HEAP_GROWTH_BYTES (1 MiB: 100 bytes per cycle; a leaked Session is about 1.9 KiB).
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  type ChildServer,
  startChildServer,
} from "../_helpers/child_server.ts";

const CYCLES = 10_000;
const WARM_UP_CYCLES = 1_000;
const CONCURRENT = 32;
const SILENT_PEERS = 50; // on a server with a short hello timeout: each waits to be cut
const MAX_HEAP_GROWTH_BYTES = 1024 * 1024;
const encoder = new TextEncoder();

interface Stats {
  fds: number;
  tcpFds: number;
  timers: number;
  heapUsed: number;
  connections: number;
}

/** What each kind of peer sends (`undefined`: nothing at all) and whether it ends politely. */
const KINDS: { send?: string; readHello?: boolean; polite?: boolean }[] = [
  {},
  { readHello: true },
  { send: "H1.2\nF1\ns1,leak/*\np2\n", readHello: true },
  { send: "H1.1\nF1\nTleak\n", polite: true },
  { send: "H1.2\nk1,leak/lock,1,1\n" }, // granted or queued, then gone
  { send: "H1.2\nk1,leak/lock,1,1\nb2,leak/barrier,3\nTpart" }, // and cut mid-message
  { send: "H1.2\nl1,leak_latch\nw2,leak_latch\n", polite: true },
];

async function cycle(port: number, index: number): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const kind = KINDS[index % KINDS.length]!;
    if (kind.readHello) await conn.read(new Uint8Array(256));
    if (kind.send !== undefined) await conn.write(encoder.encode(kind.send));
    if (kind.polite) {
      await conn.closeWrite();
      await untilEof(conn);
    }
  } catch {
    /* the server ended it first: one of the expected ends */
  } finally {
    try {
      conn.close();
    } catch { /* closed by untilEof's deadline */ }
  }
}

let notClosed = 0; // peers that waited for the server's close in vain (bounded by 10 s)

/** Reads until the server closes; past 10 s it gives up, counting it in `notClosed`. */
async function untilEof(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(4096);
  const timer = setTimeout(() => {
    notClosed++;
    conn.close();
  }, 10_000);
  try {
    while ((await conn.read(buffer)) !== null) { /* discard */ }
  } finally {
    clearTimeout(timer);
  }
}

async function cycles(port: number, first: number, end: number) {
  let next = first;
  const worker = async () => {
    while (next < end) await cycle(port, next++);
  };
  await Promise.all(Array.from({ length: CONCURRENT }, worker));
}

/**
 * TCP descriptors must come back exactly. Deno opens a few other descriptors of its own once, at a
 * moment of its choosing (seen: two sockets that are not TCP, some time in the first thousands of
 * connections, then never more): the total may differ by that much, never by a connection's worth.
 */
const MAX_OTHER_FDS = 4;

function checkDescriptors(before: Stats, after: Stats): void {
  assert.equal(after.tcpFds, before.tcpFds, "open TCP descriptors");
  assert.ok(
    after.fds - before.fds <= MAX_OTHER_FDS,
    `descriptors ${before.fds} → ${after.fds}`,
  );
}

/** Polls (bounded) until the server holds no connection; returns its figures then. */
async function settled(server: ChildServer): Promise<Stats> {
  const deadline = Date.now() + 10_000;
  let stats = await server.ask<Stats>("stats");
  while (stats.connections > 0) {
    assert.ok(Date.now() < deadline, `${stats.connections} connections left`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    stats = await server.ask<Stats>("stats");
  }
  return stats;
}

function startLeakServer(helloTimeoutMs: number): Promise<ChildServer> {
  return startChildServer(
    fileURLToPath(new URL("./_leak_server.ts", import.meta.url)),
    [String(helloTimeoutMs)],
    ["--allow-all"], // Deno lets only --allow-all read /proc/PID/fd
  );
}

Deno.test("emd: silent peers cut at the hello timeout leave no descriptor and no timer", async () => {
  await using server = await startLeakServer(300);
  await cycles(server.port, 0, 100);
  const before = await settled(server);
  await Promise.all(
    Array.from({ length: SILENT_PEERS }, async () => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      try {
        await untilEof(conn); // the server closes it
      } finally {
        conn.close();
      }
    }),
  );
  const after = await settled(server);
  assert.equal(notClosed, 0, "peers the server did not close");
  checkDescriptors(before, after);
  assert.equal(after.timers, before.timers, "live timers");
});

Deno.test("emd: 10,000 connect/disconnect cycles leak no descriptor, no timer and no memory", async () => {
  await using server = await startLeakServer(60_000); // no hello timer fires during the test
  await cycles(server.port, 0, WARM_UP_CYCLES);
  const before = await settled(server);
  await cycles(server.port, WARM_UP_CYCLES, WARM_UP_CYCLES + CYCLES);
  const after = await settled(server);
  assert.equal(notClosed, 0, "peers the server did not close");
  const growth = after.heapUsed - before.heapUsed;
  // deno-lint-ignore no-console
  console.log(
    `leak: ${CYCLES} cycles; descriptors ${before.fds} → ${after.fds} (TCP ${before.tcpFds} → ${after.tcpFds}), timers ${before.timers} → ${after.timers}, heap after GC ${
      (before.heapUsed / 2 ** 20).toFixed(2)
    } → ${(after.heapUsed / 2 ** 20).toFixed(2)} MiB`,
  );
  checkDescriptors(before, after);
  assert.equal(after.timers, before.timers, "live timers");
  assert.ok(growth < MAX_HEAP_GROWTH_BYTES, `heap grew by ${growth} bytes`);
});
