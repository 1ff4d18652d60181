// Server-level fuzz: thousands of random and mutated-valid byte streams from many connections at
// once against one server process, then: a well-behaved client still gets its triggers, the server
// still accepts connections, every fuzz connection is gone, and the server's heap after a full
// garbage collection is back near where it was. Once without and once with a shared secret (then
// every fuzz peer is unauthenticated). Deterministic: the seed is printed, EM_FUZZ_SEED replays it,
// EM_FUZZ_CASES changes the count (the run with a secret does 2/5 of it).
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { connect } from "../../client/mod.ts";
import { startChildServer } from "../_helpers/child_server.ts";
import { writeAll } from "../../server/transports/write_all.ts";
import {
  AUTH_CORPUS,
  caseRandom,
  CORPUS,
  fuzzCase,
  type Sent,
} from "./_fuzz_cases.ts";

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

/** One fuzz run's server, cases and report. */
interface Run {
  readonly port: number;
  readonly corpus: readonly string[];
  readonly sent: Sent;
}

/** Sends one case. Half the peers then half-close and read until the server closes. */
async function runCase(run: Run, index: number): Promise<"ok" | "stuck"> {
  const { bytes, cuts, readToEnd } = fuzzCase(
    caseRandom(SEED, index),
    run.corpus,
    run.sent,
  );
  const port = run.port;
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
async function fuzz(run: Run, first: number, end: number): Promise<number> {
  let next = first, stuck = 0;
  const worker = async () => {
    while (next < end) {
      if (await runCase(run, next++) === "stuck") stuck++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENT }, worker));
  return stuck;
}

/** The server process, spoken to over stdin/stdout (see _fuzz_server.ts). */
async function startFuzzServer(secret: string | undefined) {
  const server = await startChildServer(
    fileURLToPath(new URL("./_fuzz_server.ts", import.meta.url)),
    secret === undefined ? [] : [secret],
  );
  return {
    port: server.port,
    heap: () => server.ask<{ heapUsed: number; connections: number }>("heap"),
    [Symbol.asyncDispose]: () => server[Symbol.asyncDispose](),
  };
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

/** One fuzz run against a fresh server process; fails on any check, prints its figures. */
async function fuzzRun(
  cases: number,
  options: { secret?: string; corpus: readonly string[] },
): Promise<void> {
  const started = performance.now();
  const what = options.secret === undefined ? "open" : "with a secret";
  // deno-lint-ignore no-console
  console.log(
    `fuzz (${what}): seed ${SEED}, ${cases} cases (+${WARM_UP_CASES} warm-up), ${CONCURRENT} at once`,
  );
  await using server = await startFuzzServer(options.secret);
  const run: Run = {
    port: server.port,
    corpus: options.corpus,
    sent: { random: 0, mutated: 0, bytes: 0, readToEnd: 0 },
  };
  const client = { port: server.port, secret: options.secret };
  await using waiter = await connect({ ...client, receive: true });
  await using sender = await connect(client);
  await waiter.flush();

  assert.equal(await fuzz(run, 0, WARM_UP_CASES), 0);
  const before = await settle(server, 2);

  let stuck = 0;
  const end = WARM_UP_CASES + cases;
  for (let done = WARM_UP_CASES; done < end; done += CHECK_EVERY) {
    const [roundStuck] = await Promise.all([
      fuzz(run, done, Math.min(done + CHECK_EVERY, end)),
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
    await using late = await connect({ ...client, receive: true });
    await late.flush();
    await sender.trigger("late");
    assert.equal(await late.wait("late", 10_000), true);
  }
  const after = await settle(server, 2);
  const growth = after.heapUsed - before.heapUsed;
  const { sent } = run;
  // deno-lint-ignore no-console
  console.log(
    `fuzz (${what}): ${cases + WARM_UP_CASES} cases in ${
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
}

Deno.test("emd fuzz: random and mutated streams from many connections leave the server serving and its heap flat", async () => {
  await fuzzRun(CASES, { corpus: CORPUS });
});

Deno.test("emd fuzz: with a shared secret, unauthenticated streams change nothing and leave the heap flat", async () => {
  await fuzzRun(Math.round(CASES * 2 / 5), {
    secret: "fuzz-secret",
    corpus: AUTH_CORPUS,
  });
});
