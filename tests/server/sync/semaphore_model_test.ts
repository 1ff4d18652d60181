// A model-based property test of the semaphore table (server/sync/semaphores.ts): random sequences
// of acquire, release (own, other's, bogus), renew, withdraw, disconnect and clock advances (lease
// expiry, no sleeping) from several clients, checked after every step against a plain reference
// model (./_model.ts) and against the invariants: never more permits held than the size, strict
// FIFO, no waiter left behind while its permits are free, the store holds exactly the leases.
// EM_FC_RUNS sets the number of cases; the seed is printed and EM_FC_SEED replays it.
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { SemaphoreTable } from "../../../server/sync/semaphores.ts";
import { memoryStore } from "../../../server/sync/store.ts";
import { FakeClock } from "./_model.ts";
import { check } from "./_semaphore_check.ts";
import { semaphoreOp as op } from "./_semaphore_ops.ts";

const NUM_RUNS = Number(Deno.env.get("EM_FC_RUNS") ?? 300);
const SEED = Number(Deno.env.get("EM_FC_SEED") ?? Date.now() % 2 ** 31);
Deno.test("semaphores: random acquire/release/renew/withdraw/disconnect/expiry match the model", () => {
  // deno-lint-ignore no-console
  console.log(`fast-check seed ${SEED} (EM_FC_SEED), ${NUM_RUNS} runs`);
  fc.assert(
    fc.property(
      fc.array(op, { minLength: 5, maxLength: 120, size: "max" }),
      (ops) => check(ops),
    ),
    { numRuns: NUM_RUNS, seed: SEED },
  );
});

Deno.test("semaphores: a lease kept in the store is loaded, and expires by the clock", () => {
  const clock = new FakeClock();
  const store = memoryStore();
  store.putLease({
    name: "d",
    token: "old",
    permits: 1,
    count: 1,
    expiresAtMs: clock.now() - 1,
  });
  store.putLease({
    name: "d",
    token: "live",
    permits: 1,
    count: 1,
    expiresAtMs: clock.now() + 10,
  });
  const granted: string[] = [];
  const table = new SemaphoreTable<string>(store, {
    clock,
    events: {
      alive: () => true,
      granted: (owner, id) => granted.push(`${owner}:${id}`),
      failed: () => assert.fail("failed"),
      warn: (text) => assert.fail(text),
    },
  });
  table.load();
  assert.deepEqual(store.loadLeases().map((l) => l.token), ["live"]);
  assert.deepEqual(
    table.acquire("a", { id: "1", name: "d", permits: 1, count: 1 }),
    { queued: true },
  );
  clock.advance(9);
  assert.deepEqual(granted, []);
  clock.advance(1);
  assert.deepEqual(granted, ["a:1"]);
  assert.deepEqual(store.loadLeases(), []);
  table.stop();
});
