// SemaphoreTable's bookkeeping on the lock hot path: an owner's count stays exact over any number
// of lock/unlock cycles, and a semaphore reused after going idle keeps nothing of its past.
import assert from "node:assert/strict";
import {
  type AcquireRequest,
  SemaphoreTable,
} from "../../../server/sync/semaphores.ts";
import { memoryStore } from "../../../server/sync/store.ts";
import { FakeClock } from "./_model.ts";

function table(options: { maxPerOwner?: number } = {}) {
  const clock = new FakeClock();
  const granted: string[] = [];
  const semaphores = new SemaphoreTable<string>(memoryStore(), {
    clock,
    events: {
      alive: () => true,
      granted: (owner, id) => granted.push(`${owner}:${id}`),
      failed: (_, id, error) => assert.fail(`${id} failed: ${error.message}`),
      warn: (text) => assert.fail(text),
    },
    newToken: (request) => `tok-${request.id}`,
    ...options,
  });
  return { clock, granted, semaphores };
}

let seq = 0;
function request(
  name: string,
  permits = 1,
  more: Partial<AcquireRequest> = {},
): AcquireRequest {
  return { id: `s${++seq}`, name, permits, count: 1, ...more };
}

function token(result: ReturnType<SemaphoreTable<string>["acquire"]>): string {
  assert.ok("token" in result, JSON.stringify(result));
  return result.token;
}

Deno.test("semaphores: an owner's limit counts exactly what it holds and waits for, after 1000 lock/unlock cycles", () => {
  const { semaphores } = table({ maxPerOwner: 2 });
  for (let i = 0; i < 1000; i++) {
    const held = token(semaphores.acquire("a", request("m")));
    assert.equal(semaphores.release("a", "m", held), undefined);
  }
  const first = token(semaphores.acquire("a", request("m")));
  assert.deepEqual(semaphores.acquire("b", request("m")), { queued: true });
  const waiting = semaphores.acquire("a", request("m")); // a waits behind b: its second
  assert.deepEqual(waiting, { queued: true });
  assert.match(
    (semaphores.acquire("a", request("n")) as { refused: string }).refused,
    /already has 2 holds and waiting requests/,
  );
  assert.equal(semaphores.release("a", "m", first), undefined); // b is granted; a still waits
  token(semaphores.acquire("a", request("n")));
  assert.ok("refused" in semaphores.acquire("a", request("o")));
});

Deno.test("semaphores: a semaphore that went idle is reused under another name with nothing of its past", () => {
  const { clock, semaphores } = table();
  const lease = token(semaphores.acquire("a", request("x", 1, { ttlMs: 100 })));
  assert.equal(semaphores.release("b", "x", lease), undefined); // a lease: any owner
  assert.equal(clock.pending, 0); // its expiry timer cancelled
  const held = token(semaphores.acquire("a", request("y", 3, { count: 2 })));
  assert.equal(semaphores.inspect("x"), undefined);
  assert.deepEqual(semaphores.names(), ["y"]);
  assert.deepEqual(semaphores.inspect("y"), {
    permits: 3,
    holds: [{ token: held, count: 2, owner: "a", expiresAtMs: Infinity }],
    queue: [],
  });
  clock.advance(1_000); // the released lease's expiry must not touch y
  assert.equal(semaphores.inspect("y")?.holds.length, 1);
  assert.equal(semaphores.leaseCount, 0);
  token(semaphores.acquire("b", request("x", 2)));
  assert.equal(semaphores.inspect("x")?.permits, 2);
});

Deno.test("semaphores: dropping an owner after lock/unlock cycles releases its holds and waits, and grants the next", () => {
  const { granted, semaphores } = table();
  for (let i = 0; i < 10; i++) {
    semaphores.release("a", "m", token(semaphores.acquire("a", request("m"))));
  }
  token(semaphores.acquire("a", request("m")));
  token(semaphores.acquire("b", request("n")));
  assert.deepEqual(semaphores.acquire("a", request("n")), { queued: true });
  const next = request("m");
  assert.deepEqual(semaphores.acquire("c", next), { queued: true });
  semaphores.drop("a");
  assert.deepEqual(granted, [`c:${next.id}`]);
  assert.deepEqual(semaphores.inspect("n")?.queue, []);
  assert.deepEqual(semaphores.inspect("m")?.holds.map((h) => h.owner), ["c"]);
});
