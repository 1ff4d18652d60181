// Server-level fuzz: thousands of random and mutated-valid byte streams from many connections at
// once against one server process, then: a well-behaved client still gets its triggers, the server
// still accepts connections, every fuzz connection is gone, and the server's heap after a full
// garbage collection is back near where it was. Deterministic: the seed is printed, EM_FUZZ_SEED
// replays it, EM_FUZZ_CASES changes the count.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { connect } from "../../client/mod.ts";

const SEED = Number(Deno.env.get("EM_FUZZ_SEED") ?? Date.now() % 2 ** 31);
const CASES = Number(Deno.env.get("EM_FUZZ_CASES") ?? 5000);
const WARM_UP_CASES = 500; // before the first heap figure: lazily built code and caches settle
const CONCURRENT = 48; // fuzz connections open at once
const CHECK_EVERY = 500; // cases between checks that a well-behaved client is served
/**
 * Heap growth allowed across the fuzz, after full collections in the server process. Measured
 * here: 0.4–0.65 MiB whatever the number of cases (1,000 to 20,000): V8's compiled code and type
 * feedback for the paths the fuzz reaches, not per-connection state. Keeping every Session alive
 * (a deliberate leak, about 1.9 KiB each) grew it by 6 MiB over 3,300 cases; any leak of 300 bytes
 * or more per connection passes this bound at 5,000 cases.
 */
const MAX_HEAP_GROWTH_BYTES = 1.5 * 1024 * 1024;
const CLOSE_DEADLINE_MS = 10_000; // a fuzz connection's end after its EOF: the server must close
const encoder = new TextEncoder();

/** mulberry32: a small, fast, seeded generator; the same seed gives the same cases. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Valid sessions of every kind the server speaks; mutated to make most of the fuzz cases. */
const CORPUS = [
  "H1.1\nF1\nTbuild_done\nTa\rTb\r\nQwrong_name\npsync\nF0\n",
  "H1,1;aapp\nF1;x\nTx;yz,1\nF\nT\nTa,b\n",
  'H1.2;m65536\nF1\ns1,speed/*\nt2,door/open,{"a":[1,2,{"b":null}]}\n' +
  'c3,fuzz/echo,[1,"\\x2C\\x3B"]\nu4,speed/*\npq\n',
  "H1.2\nF1\nl1,fuzz_latch\nw2,fuzz_latch,other\nz3,fuzz_latch\n" +
  "k4,fuzz_lock,1,1\nv5,fuzz_lock,tok\nb6,fuzz_barrier,2\nq6\n",
  "H1.2\nc1,fuzz/nothing\nc2,nope/echo,{}\nt3,a,not json\ns4,*\nd5,x\n",
  `H1.1\nT${"n".repeat(255)}\nT${"n".repeat(256)}\np\\xZZ\np\\xC3\\xA9\n`,
];

type Random = () => number;
const pick = <T>(rnd: Random, items: readonly T[]): T =>
  items[Math.floor(rnd() * items.length)]!;
const int = (rnd: Random, max: number) => Math.floor(rnd() * max);

function randomBytes(rnd: Random, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = int(rnd, 256);
  return bytes;
}

/** One mutation of a byte stream: what a broken or hostile peer might send instead. */
const MUTATIONS: ((rnd: Random, b: Uint8Array) => Uint8Array)[] = [
  (rnd, b) => b.map((x, i) => i === int(rnd, b.length) ? int(rnd, 256) : x),
  (rnd, b) =>
    splice(b, int(rnd, b.length + 1), 0, randomBytes(rnd, 1 + int(rnd, 16))),
  (rnd, b) => splice(b, int(rnd, b.length + 1), int(rnd, 32), new Uint8Array()),
  (rnd, b) => {
    const start = int(rnd, b.length + 1);
    const part = b.subarray(start, start + 1 + int(rnd, 64));
    const copies = 1 + int(rnd, 80); // may build a line far over the limit
    return splice(b, start, 0, concat(Array(copies).fill(part)));
  },
  (rnd, b) =>
    splice(
      b,
      int(rnd, b.length + 1),
      0,
      encoder.encode(
        pick(rnd, ["\r", "\n", "\r\n", "\n\r", ";", ",", "\\x", "\\xFF", "\0"]),
      ),
    ),
  (rnd, b) =>
    splice(
      b,
      int(rnd, b.length + 1),
      0,
      encoder.encode("x".repeat(4000 + int(rnd, 1200))),
    ),
  (rnd, b) => b.map((x, i) => i === int(rnd, b.length) ? x ^ 0x20 : x), // flip a letter's case
  (rnd, b) => b.subarray(0, int(rnd, b.length + 1)), // truncated mid-message
];

function splice(b: Uint8Array, at: number, remove: number, insert: Uint8Array) {
  return concat([b.subarray(0, at), insert, b.subarray(at + remove)]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** What the fuzz sent, for the report. */
const sent = { random: 0, mutated: 0, bytes: 0, readToEnd: 0 };

/** One fuzz case: a byte stream, how it is cut into writes, and how the peer ends. */
function fuzzCase(rnd: Random) {
  let bytes: Uint8Array;
  const kind = rnd();
  if (kind < 0.25) {
    sent.random++;
    bytes = randomBytes(rnd, int(rnd, 6000));
    if (rnd() < 0.5) bytes = concat([encoder.encode("H1.2\nF1\n"), bytes]);
  } else {
    sent.mutated++;
    bytes = encoder.encode(pick(rnd, CORPUS));
    for (let n = 1 + int(rnd, 4); n > 0; n--) {
      bytes = pick(rnd, MUTATIONS)(rnd, bytes);
    }
  }
  const cuts = Array.from(
    { length: int(rnd, 5) },
    () => int(rnd, bytes.length + 1),
  )
    .sort((a, b) => a - b);
  const readToEnd = rnd() < 0.5;
  sent.bytes += bytes.length;
  if (readToEnd) sent.readToEnd++;
  return { bytes, cuts, readToEnd };
}

/** Case `index` of a run: its own generator, so any one case can be rebuilt from seed and index. */
function caseRandom(index: number): Random {
  return random((SEED ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0);
}

/** Sends one case. Half the peers then half-close and read until the server closes. */
async function runCase(port: number, index: number): Promise<"ok" | "stuck"> {
  const { bytes, cuts, readToEnd } = fuzzCase(caseRandom(index));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    let start = 0;
    for (const cut of [...cuts, bytes.length]) {
      await writeAll(conn, bytes.subarray(start, cut));
      start = cut;
    }
    if (!readToEnd) return "ok";
    await conn.closeWrite();
    return await untilClosed(conn);
  } catch {
    return "ok"; // the server closed on us mid-write: one of the expected ends
  } finally {
    try {
      conn.close();
    } catch { /* closed by the deadline */ }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

async function untilClosed(conn: Deno.Conn): Promise<"ok" | "stuck"> {
  let stuck = false;
  const timer = setTimeout(() => {
    stuck = true;
    conn.close();
  }, CLOSE_DEADLINE_MS);
  const buffer = new Uint8Array(64 * 1024);
  try {
    while ((await conn.read(buffer)) !== null) { /* discard */ }
  } catch { /* reset, or our deadline */ }
  clearTimeout(timer);
  return stuck ? "stuck" : "ok";
}

/** Runs cases `first` to `end - 1`, CONCURRENT at a time; returns how many were never closed. */
async function fuzz(port: number, first: number, end: number): Promise<number> {
  let next = first, stuck = 0;
  const worker = async () => {
    while (next < end) {
      if (await runCase(port, next++) === "stuck") stuck++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT }, worker));
  return stuck;
}

/** The server process, spoken to over stdin/stdout (see _fuzz_server.ts). */
async function startFuzzServer() {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      "--allow-net=127.0.0.1",
      fileURLToPath(new URL("./_fuzz_server.ts", import.meta.url)),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream())
    .pipeThrough(splitLines()).getReader();
  const line = async () => {
    const { value, done } = await lines.read();
    if (done) throw new Error("The fuzz server exited");
    return value;
  };
  const port = Number((await line()).replace(/^port /, ""));
  return {
    port,
    async heap(): Promise<{ heapUsed: number; connections: number }> {
      await writer.write(encoder.encode("heap\n"));
      return JSON.parse(await line());
    },
    async [Symbol.asyncDispose]() {
      await writer.write(encoder.encode("quit\n")).catch(() => {});
      await writer.close().catch(() => {});
      while (!(await lines.read()).done) { /* drain */ }
      assert.equal(
        (await child.status).code,
        0,
        "the fuzz server exits cleanly",
      );
    },
  };
}

function splitLines(): TransformStream<string, string> {
  let carry = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (carry + chunk).split("\n");
      carry = parts.pop()!;
      for (const part of parts) controller.enqueue(part);
    },
  });
}

/** Polls (bounded) until only `expected` connections are left on the server. */
async function settle(
  server: Awaited<ReturnType<typeof startFuzzServer>>,
  expected: number,
) {
  const deadline = Date.now() + 10_000;
  let heap = await server.heap();
  while (heap.connections > expected) {
    assert.ok(Date.now() < deadline, `${heap.connections} connections left`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    heap = await server.heap();
  }
  return heap;
}

Deno.test("emd fuzz: random and mutated streams from many connections leave the server serving and its heap flat", async () => {
  const started = performance.now();
  // deno-lint-ignore no-console
  console.log(
    `fuzz: seed ${SEED}, ${CASES} cases (+${WARM_UP_CASES} warm-up), ${CONCURRENT} at once`,
  );
  await using server = await startFuzzServer();
  await using waiter = await connect({ port: server.port, receive: true });
  await using sender = await connect({ port: server.port });
  await waiter.flush();

  assert.equal(await fuzz(server.port, 0, WARM_UP_CASES), 0);
  const before = await settle(server, 2);

  let stuck = 0;
  const end = WARM_UP_CASES + CASES;
  for (let done = WARM_UP_CASES; done < end; done += CHECK_EVERY) {
    const [roundStuck] = await Promise.all([
      fuzz(server.port, done, Math.min(done + CHECK_EVERY, end)),
      (async () => { // served while the fuzz runs
        await sender.trigger(`during_${done}`);
        assert.equal(await waiter.wait(`during_${done}`, 10_000), true);
      })(),
    ]);
    stuck += roundStuck;
  }
  assert.equal(stuck, 0, "every fuzz connection was closed after its end");

  await sender.trigger("after_fuzz");
  assert.equal(await waiter.wait("after_fuzz", 10_000), true);
  {
    await using late = await connect({ port: server.port, receive: true });
    await late.flush();
    await sender.trigger("late");
    assert.equal(await late.wait("late", 10_000), true);
  }
  const after = await settle(server, 2);
  const growth = after.heapUsed - before.heapUsed;
  // deno-lint-ignore no-console
  console.log(
    `fuzz: ${CASES + WARM_UP_CASES} cases in ${
      ((performance.now() - started) / 1000).toFixed(1)
    } s; ` +
      `heap after GC ${(before.heapUsed / 2 ** 20).toFixed(2)} → ${
        (after.heapUsed / 2 ** 20).toFixed(2)
      } MiB; ${sent.random} random, ${sent.mutated} mutated, ${sent.readToEnd} read to the end, ` +
      `${(sent.bytes / 2 ** 20).toFixed(1)} MiB sent`,
  );
  assert.ok(
    growth < MAX_HEAP_GROWTH_BYTES,
    `heap grew by ${growth} bytes (seed ${SEED})`,
  );
});
