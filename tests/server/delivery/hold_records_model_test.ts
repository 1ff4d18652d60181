// The cluster's hold records (server/delivery/hold_records.ts) obey the same rules as one server:
// random sequences of acquire, release, renew, withdraw, disconnect and lease expiry from several
// clients (the operations of tests/server/sync/semaphore_model_test.ts), each applied as one write
// of the stored record (stepRecord: expired leases first, the op, then the queue served), checked
// after every step against the single server's reference model (tests/server/sync/_model.ts):
// same outcomes, same holds, same queue in the same order, same grants from the queue. Once as ops
// of the writing node itself, once as ops another node sent (its releases are remembered in the
// record, which then stays idle for a while: it must still behave as if it were gone).
// EM_FC_RUNS sets the number of cases; the seed is printed and EM_FC_SEED replays it.
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import type { SemaphoreRecord } from "../../../server/delivery/hold_records.ts";
import {
  applyOp,
  type HoldOp,
  stepRecord,
} from "../../../server/delivery/hold_ops.ts";
import { Model } from "../sync/_model.ts";
import { CLIENTS, type Op, SIZES } from "../sync/_semaphore_check.ts";
import { semaphoreOp } from "../sync/_semaphore_ops.ts";

const NUM_RUNS = Number(Deno.env.get("EM_FC_RUNS") ?? 200);
const SEED = Number(Deno.env.get("EM_FC_SEED") ?? Date.now() % 2 ** 31);
const NODE = "n/1";

/** Runs one sequence against the records and the model, comparing after every step. */
function check(ops: Op[], served: boolean): void {
  let now = 1_000;
  const model = new Model(() => now);
  const records = new Map<string, SemaphoreRecord>();
  const generation = Array.from({ length: CLIENTS }, () => 0);
  const owner = (c: number) => `c${c}#${generation[c]}`;
  const o = (c: number) => c * 1_000 + generation[c]!; // the connection number of an owner
  const ownerOf = (n: number) => `c${Math.floor(n / 1_000)}#${n % 1_000}`;
  let seq = 0;
  const write = (name: string, op: HoldOp) => {
    const { result, next } = stepRecord(
      true,
      (record) => applyOp(true, op, record, now, served ? "served" : "here"),
      records.get(name),
      now,
      (waiter) => `tok-${waiter.w}`,
    );
    const before = new Set(records.get(name)?.h.map((h) => h.t));
    if (next === undefined) records.delete(name);
    else records.set(name, next as SemaphoreRecord);
    const granted = (next as SemaphoreRecord | undefined)?.h
      .filter((h) => h.w !== undefined && !before.has(h.t))
      .map((h) => `${h.o === undefined ? "?" : ownerOf(h.o)}:${h.w}:${h.t}`) ??
      [];
    return { result, granted };
  };
  const holds = () =>
    [...records].flatMap(([name, r]) => r.h.map((h) => ({ name, h })));
  for (const [step, op] of ops.entries()) {
    const where = `step ${step} ${JSON.stringify(op)}`;
    const idAndToken = (grant: string) => grant.replace(/^[^:]*:/, "");
    // a lease granted from the queue names no owner in its record: compare ids and tokens
    assert.deepEqual(
      apply(op).map(idAndToken).sort(),
      model.grants.splice(0).map(idAndToken).sort(),
      `${where}: grants from the queue`,
    );
    compare(where);
  }

  function apply(op: Op): string[] {
    switch (op.kind) {
      case "acquire": {
        const size = SIZES[op.name]! + (op.wrongSize ? 1 : 0);
        const id = `r${++seq}`;
        const count = Math.min(op.count, size);
        const wish = {
          name: op.name,
          permits: size,
          count,
          ...(op.ttlMs === null ? {} : { ttlMs: op.ttlMs }),
        };
        const expected = model.acquire(owner(op.client), { id, ...wish });
        const who = { n: NODE, o: o(op.client), w: id };
        const { result, granted } = write(op.name, {
          op: "acquire",
          wish,
          who,
          token: `tok-${id}`,
        });
        const record = records.get(op.name);
        const actual = result.refused !== undefined
          ? "refused"
          : record?.h.some((h) => h.t === `tok-${id}`)
          ? "granted"
          : "queued";
        assert.equal(actual, expected, `acquire ${id}`);
        // granted in its own write: answered by the acquire, not from the queue
        return granted.filter((g) => !g.endsWith(`:tok-${id}`));
      }
      case "release": {
        const all = holds();
        const target = all[op.pick % Math.max(1, all.length)];
        const name = target?.name ?? "m";
        const token = op.bogus || target === undefined ? "nope" : target.h.t;
        const expected = model.release(owner(op.client), name, token);
        const { result, granted } = write(name, {
          op: "release",
          name,
          token,
          by: { n: NODE, o: o(op.client) },
        });
        assert.equal(result.refused === undefined, expected, `release`);
        return granted;
      }
      case "renew": {
        const all = holds();
        const target = all[op.pick % Math.max(1, all.length)];
        if (target === undefined) return [];
        const expected = model.renew(target.name, target.h.t, op.ttlMs);
        const { result, granted } = write(target.name, {
          op: "renew",
          name: target.name,
          token: target.h.t,
          ttlMs: op.ttlMs,
        });
        assert.equal(result.refused === undefined, expected, "renew");
        return granted;
      }
      case "withdraw": {
        const mine = [...model.sems.values()].flatMap((s) => s.queue)
          .filter((w) => w.owner === owner(op.client));
        const id = mine[op.pick % Math.max(1, mine.length)]?.id ?? "none";
        const name = [...records].find(([, r]) => r.q.some((q) => q.w === id))
          ?.[0] ?? "m";
        const expected = model.withdraw(owner(op.client), id);
        const { result, granted } = write(name, { op: "withdraw", w: id });
        assert.equal(result.present ?? false, expected, "withdraw");
        return granted;
      }
      case "disconnect": {
        model.disconnect(owner(op.client));
        const by = { n: NODE, o: o(op.client) };
        const granted = [...records.keys()].flatMap((name) =>
          write(name, { op: "leave", by }).granted
        );
        generation[op.client]!++;
        return granted;
      }
      case "advance": {
        now += op.ms;
        model.expire();
        return [...records.keys()].flatMap((name) =>
          // the key's writer prunes
          write(name, { op: "withdraw", w: "-" }).granted
        );
      }
    }
  }

  /** The records someone holds or waits in (served releases leave idle records that remember them). */
  function busy(): [string, SemaphoreRecord][] {
    return [...records].filter(([, r]) => r.h.length + r.q.length > 0);
  }

  function compare(where: string): void {
    assert.deepEqual(
      [...busy()].map(([name]) => name).sort(),
      [...model.sems.keys()].sort(),
      `${where}: the same semaphores exist`,
    );
    for (const [name, record] of busy()) {
      const sem = model.sems.get(name)!;
      assert.equal(record.p, sem.permits, `${where}: size of ${name}`);
      const mine = record.h.map((h) => ({
        token: h.t,
        owner: h.o === undefined ? undefined : ownerOf(h.o),
        count: h.c,
        expiresAtMs: h.e ?? Infinity,
      })).sort((a, b) => a.token.localeCompare(b.token));
      const theirs = sem.holds.map(({ token, owner, count, expiresAtMs }) => ({
        token,
        owner,
        count,
        expiresAtMs,
      })).sort((a, b) => a.token.localeCompare(b.token));
      assert.deepEqual(mine, theirs, `${where}: holds of ${name}`);
      assert.deepEqual(
        record.q.map((q) => ({ owner: ownerOf(q.o), id: q.w, count: q.c })),
        sem.queue.map(({ owner, id, count }) => ({ owner, id, count })),
        `${where}: queue of ${name} in order`,
      );
    }
  }
}

Deno.test("hold records: random acquire/release/renew/withdraw/disconnect/expiry match the one-server model (ops of this node)", () => {
  // deno-lint-ignore no-console
  console.log(`fast-check seed ${SEED} (EM_FC_SEED), ${NUM_RUNS} runs`);
  fc.assert(
    fc.property(
      fc.array(semaphoreOp, { minLength: 5, maxLength: 120, size: "max" }),
      (ops) => check(ops, false),
    ),
    { numRuns: NUM_RUNS, seed: SEED },
  );
});

Deno.test("hold records: the same, every op sent by another node (releases remembered)", () => {
  // deno-lint-ignore no-console
  console.log(`fast-check seed ${SEED} (EM_FC_SEED), ${NUM_RUNS} runs`);
  fc.assert(
    fc.property(
      fc.array(semaphoreOp, { minLength: 5, maxLength: 120, size: "max" }),
      (ops) => check(ops, true),
    ),
    { numRuns: NUM_RUNS, seed: SEED },
  );
});
