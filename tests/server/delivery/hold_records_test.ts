// An op applied twice: HoldWriter.run writes an op itself when the key's home node did not answer
// in time, and the home may have written it before it died or while its answer was late. The
// records must take the second application as a retry, not as a second request.
import assert from "node:assert/strict";
import type {
  BarrierRecord,
  SemaphoreRecord,
} from "../../../server/delivery/hold_records.ts";
import {
  applyOp,
  type HoldOp,
  stepRecord,
} from "../../../server/delivery/hold_ops.ts";

const NOW = 1_000;
type AnyRecord = SemaphoreRecord | BarrierRecord | undefined;

/** One write of `op`, as HoldWriter does it: expired leases, the op, the queue served. */
function write(semaphore: boolean, record: AnyRecord, op: HoldOp) {
  return stepRecord(
    semaphore,
    (r) => applyOp(semaphore, op, r, NOW),
    record,
    NOW,
    (waiter) => `tok-${waiter.w}`,
  );
}

const acquire = (w: string, ttlMs?: number): HoldOp => ({
  op: "acquire",
  wish: { name: "L", permits: 1, count: 1, ...(ttlMs ? { ttlMs } : {}) },
  who: { n: "b/1", o: 1, w },
  token: `t-${w}`,
});

Deno.test("hold records: an acquire granted at once and applied again is granted once", () => {
  for (const ttlMs of [undefined, 60_000]) { // a bound hold, a lease
    const first = write(true, undefined, acquire("b/1.1", ttlMs));
    assert.equal(first.result.refused, undefined);
    assert.equal((first.result as { granted?: boolean }).granted, true);
    const again = write(true, first.next, acquire("b/1.1", ttlMs));
    assert.equal((again.result as { granted?: boolean }).granted, true);
    assert.deepEqual(again.next, first.next);
  }
});

Deno.test("hold records: a queued acquire applied again stays one waiter", () => {
  const held = write(true, undefined, acquire("a/1.1")).next;
  const queued = write(true, held, acquire("b/1.2"));
  assert.equal((queued.result as { granted?: boolean }).granted, false);
  assert.equal((queued.next as SemaphoreRecord).q.length, 1);
  const again = write(true, queued.next, acquire("b/1.2"));
  assert.equal((again.result as { granted?: boolean }).granted, false);
  assert.deepEqual(again.next, queued.next);
});

Deno.test("hold records: an acquire served from the queue and applied again takes nothing more", () => {
  const held = write(true, undefined, acquire("a/1.1"));
  const queued = write(true, held.next, acquire("b/1.2")).next;
  const released = write(true, queued, {
    op: "release",
    name: "L",
    token: "t-a/1.1",
    by: { n: "b/1", o: 1 },
  }).next as SemaphoreRecord;
  assert.deepEqual(released.h.map((h) => h.w), ["b/1.2"]); // served: its node answers it
  const again = write(true, released, acquire("b/1.2"));
  assert.equal((again.result as { granted?: boolean }).granted, false); // its waiter finds the hold
  assert.deepEqual(again.next, released);
});

Deno.test("hold records: an arrival applied again is counted once", () => {
  const arrive = (w: string): HoldOp => ({
    op: "arrive",
    name: "B",
    parties: 2,
    arrival: { n: "b/1", o: 1, w },
  });
  const first = write(false, undefined, arrive("b/1.1"));
  const again = write(false, first.next, arrive("b/1.1"));
  assert.deepEqual(again.next, first.next);
  assert.equal((again.result as { complete?: unknown }).complete, undefined);
  const second = write(false, again.next, arrive("b/1.2"));
  assert.equal(second.next, undefined); // two parties: the round is over
  assert.equal(
    (second.result as { complete?: unknown[] }).complete?.length,
    2,
  );
});
