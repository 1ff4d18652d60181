// An op applied twice: HoldWriter.run writes an op itself when the key's home node did not answer
// in time, and the home may have written it before it died or while its answer was late. The
// records must take the second application as a retry, not as a second request.
import assert from "node:assert/strict";
import {
  type BarrierRecord,
  needsWork,
  type SemaphoreRecord,
} from "../../../server/delivery/hold_records.ts";
import { RECENT_MAX, RECENT_MS } from "../../../server/delivery/hold_recent.ts";
import {
  applyOp,
  type HoldOp,
  type OpVia,
  stepRecord,
} from "../../../server/delivery/hold_ops.ts";

const NOW = 1_000;
type AnyRecord = SemaphoreRecord | BarrierRecord | undefined;

/**
 * One write of `op`, as HoldWriter does it: expired leases, the op, the queue served. `via`: by its
 * own node (`here`), by the key's home for the node that sent it (`served`), or by the sending node
 * after the home did not answer (`retried`).
 */
function write(
  semaphore: boolean,
  record: AnyRecord,
  op: HoldOp,
  { via = "here" as OpVia, nowMs = NOW } = {},
) {
  return stepRecord(
    semaphore,
    (r) => applyOp(semaphore, op, r, nowMs, via),
    record,
    nowMs,
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
  assert.deepEqual((second.next as BarrierRecord).a, []); // two parties: the round is over
  assert.equal(
    (second.result as { complete?: unknown[] }).complete?.length,
    2,
  );
});

const release = (token: string, o = 1): HoldOp => ({
  op: "release",
  name: "L",
  token,
  by: { n: "b/1", o },
});

const arrive = (w: string, parties = 2): HoldOp => ({
  op: "arrive",
  name: "B",
  parties,
  arrival: { n: "b/1", o: 1, w },
});

Deno.test("hold records: a release its home wrote, written again by its node, is answered ok again", () => {
  for (const ttlMs of [undefined, 60_000]) { // a bound hold, a lease
    const held = write(true, undefined, acquire("b/1.1", ttlMs)).next;
    const first = write(true, held, release("t-b/1.1"), { via: "served" });
    assert.equal(first.result.refused, undefined);
    const again = write(true, first.next, release("t-b/1.1"), {
      via: "retried",
    }); // its node, 2 s later
    assert.equal(again.result.refused, undefined);
    assert.deepEqual(again.next, first.next);
    assert.deepEqual((again.next as SemaphoreRecord).h, []);
  }
});

Deno.test("hold records: a release written again never frees a later hold", () => {
  const held = write(true, undefined, acquire("b/1.1", 60_000)).next;
  const released =
    write(true, held, release("t-b/1.1"), { via: "served" }).next;
  const later = write(true, released, acquire("c/1.2")); // another client takes the lock
  assert.equal((later.result as { granted?: boolean }).granted, true);
  const again = write(true, later.next, release("t-b/1.1"), { via: "retried" });
  assert.equal(again.result.refused, undefined);
  assert.deepEqual(again.next, later.next);
  assert.deepEqual((again.next as SemaphoreRecord).h.map((h) => h.t), [
    "t-c/1.2",
  ]);
  const stolen = write(true, again.next, release("t-c/1.2", 2)); // not its hold
  assert.match(
    stolen.result.refused ?? "",
    /neither a hold of this connection/,
  );
});

Deno.test("hold records: a gone hold's token from another connection, or after the window, is refused as before", () => {
  const held = write(true, undefined, acquire("b/1.1", 60_000)).next;
  const released =
    write(true, held, release("t-b/1.1"), { via: "served" }).next;
  const other = write(true, released, release("t-b/1.1", 2), {
    via: "retried",
  });
  assert.match(other.result.refused ?? "", /neither a hold of this connection/);
  const late = NOW + RECENT_MS;
  assert.equal(needsWork(released as SemaphoreRecord, late), true); // the home prunes it
  const after = write(true, released, release("t-b/1.1"), {
    via: "retried",
    nowMs: late,
  });
  assert.match(after.result.refused ?? "", /neither a hold of this connection/);
  const swept = write(true, released, { op: "withdraw", w: "-" }, {
    nowMs: late,
  });
  assert.equal(swept.next, undefined); // forgotten: the key is deleted
});

Deno.test("hold records: a release written by the asking node itself is not remembered", () => {
  const held = write(true, undefined, acquire("b/1.1")).next;
  assert.equal(write(true, held, release("t-b/1.1")).next, undefined);
  const retried = write(true, held, release("t-b/1.1"), { via: "retried" });
  assert.equal(retried.next, undefined);
});

Deno.test("hold records: a client that releases a token twice is refused the second time, as on one server", () => {
  const held = write(true, undefined, acquire("b/1.1", 60_000)).next;
  const released =
    write(true, held, release("t-b/1.1"), { via: "served" }).next;
  const twice = write(true, released, release("t-b/1.1"), { via: "served" }); // a new request
  assert.match(twice.result.refused ?? "", /neither a hold of this connection/);
  const here = write(true, released, release("t-b/1.1")); // through the key's home node
  assert.match(here.result.refused ?? "", /neither a hold of this connection/);
});

Deno.test("hold records: an idle record that remembers releases takes any size", () => {
  const held = write(true, undefined, acquire("b/1.1")).next;
  const released =
    write(true, held, release("t-b/1.1"), { via: "served" }).next;
  const bigger = write(true, released, {
    op: "acquire",
    wish: { name: "L", permits: 3, count: 2 },
    who: { n: "b/1", o: 1, w: "b/1.2" },
    token: "t-b/1.2",
  });
  assert.equal((bigger.result as { granted?: boolean }).granted, true);
  assert.equal((bigger.next as SemaphoreRecord).p, 3);
  assert.equal(
    write(true, bigger.next, release("t-b/1.1"), { via: "retried" }).result
      .refused,
    undefined,
  );
});

Deno.test("hold records: a record remembers at most RECENT_MAX releases", () => {
  let record: AnyRecord = undefined;
  for (let i = 0; i < RECENT_MAX + 5; i++) {
    record = write(true, record, acquire(`b/1.${i}`)).next;
    record = write(true, record, release(`t-b/1.${i}`), { via: "served" }).next;
  }
  assert.equal((record as SemaphoreRecord).d?.length, RECENT_MAX);
  assert.equal(
    write(true, record, release("t-b/1.0"), { via: "retried" }).result
      .refused !==
      undefined,
    true,
  ); // the oldest is forgotten
  assert.equal(
    write(true, record, release(`t-b/1.${RECENT_MAX + 4}`), { via: "retried" })
      .result
      .refused,
    undefined,
  );
});

Deno.test("hold records: an arrival that completed a round, written again, gets that round's answer", () => {
  const first = write(false, undefined, arrive("b/1.1"));
  const done = write(false, first.next, arrive("b/1.2"), { via: "served" });
  assert.equal((done.result as { complete?: unknown[] }).complete?.length, 2);
  const again = write(false, done.next, arrive("b/1.2")); // its answer was lost
  assert.deepEqual(
    (again.result as { complete?: { w: string }[] }).complete?.map((a) => a.w),
    ["b/1.2"],
  );
  assert.deepEqual((again.next as BarrierRecord).a, []); // it did not join the next round
  const early = write(false, again.next, arrive("b/1.1")); // an earlier arrival of that round
  assert.notEqual((early.result as { complete?: unknown }).complete, undefined);
  assert.deepEqual((early.next as BarrierRecord).a, []);
});

Deno.test("hold records: the next round of a barrier may have other parties; its memory ends", () => {
  const first = write(false, undefined, arrive("b/1.1"));
  const done = write(false, first.next, arrive("b/1.2")).next;
  const next = write(false, done, arrive("b/1.3", 3));
  assert.equal(next.result.refused, undefined);
  assert.deepEqual((next.next as BarrierRecord).a.map((a) => a.w), ["b/1.3"]);
  assert.equal((next.next as BarrierRecord).p, 3);
  const late = NOW + RECENT_MS;
  const left = write(false, next.next, { op: "withdraw", w: "b/1.3" }, {
    nowMs: late,
  });
  assert.equal(left.next, undefined); // nobody waits, nothing remembered: deleted
  const again = write(false, done, arrive("b/1.2"), { nowMs: late });
  assert.equal((again.result as { complete?: unknown }).complete, undefined); // past the window
});

Deno.test("hold records: a round with more parties than RECENT_MAX is remembered whole", () => {
  const parties = RECENT_MAX + 3;
  let record: AnyRecord = undefined;
  for (let i = 0; i < parties; i++) {
    record = write(false, record, arrive(`b/1.${i}`, parties)).next;
  }
  assert.equal((record as BarrierRecord).d?.length, parties);
  const again = write(false, record, arrive("b/1.0", parties));
  assert.notEqual((again.result as { complete?: unknown }).complete, undefined);
});

Deno.test("hold records: a barrier withdrawal says the round completed only when it did", () => {
  const first = write(false, undefined, arrive("b/1.1"));
  const done = write(false, first.next, arrive("b/1.2")).next; // complete
  const late = write(false, done, { op: "withdraw", w: "b/1.1" });
  assert.equal((late.result as { present?: boolean }).present, false);
  assert.equal((late.result as { done?: boolean }).done, true);
  const waiting = write(false, undefined, arrive("b/1.3")).next;
  const withdrawn = write(false, waiting, { op: "withdraw", w: "b/1.3" }, {
    via: "served",
  });
  assert.equal((withdrawn.result as { present?: boolean }).present, true);
  assert.equal(withdrawn.next, undefined);
  const again = write(false, withdrawn.next, { op: "withdraw", w: "b/1.3" }); // written twice
  assert.equal((again.result as { present?: boolean }).present, false);
  assert.equal((again.result as { done?: boolean }).done, undefined); // not "the round completed"
});
