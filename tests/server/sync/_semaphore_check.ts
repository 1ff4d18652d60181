// Runs one sequence of semaphore operations against the table (server/sync/semaphores.ts) and the
// reference model (./_model.ts), comparing after every step: used by the model test (fast-check)
// and by the long fuzz run (tests/fuzz/).
import assert from "node:assert/strict";
import { SemaphoreTable } from "../../../server/sync/semaphores.ts";
import { memoryStore } from "../../../server/sync/store.ts";
import { FakeClock, Model } from "./_model.ts";

export const CLIENTS = 4;
/** The semaphores the operations use and their sizes. */
export const SIZES: Record<string, number> = { m: 1, s: 3 };

export type Op =
  | {
    kind: "acquire";
    client: number;
    name: string;
    wrongSize: boolean;
    count: number;
    ttlMs: number | null;
  }
  | { kind: "release"; client: number; pick: number; bogus: boolean }
  | { kind: "renew"; pick: number; ttlMs: number }
  | { kind: "withdraw"; client: number; pick: number }
  | { kind: "disconnect"; client: number }
  | { kind: "advance"; ms: number };

/** Runs one sequence against the table and the model, comparing after every step. */
export function check(ops: Op[]): void {
  const clock = new FakeClock();
  const store = memoryStore();
  const granted: string[] = [];
  const table = new SemaphoreTable<string>(store, {
    clock,
    events: {
      alive: () => true, // a disconnected client's waits are dropped with it
      granted: (owner, id, token) => granted.push(`${owner}:${id}:${token}`),
      failed: (_, id, error) =>
        assert.fail(`request ${id} failed: ${error.message}`),
      warn: (text) => assert.fail(text),
    },
    newToken: (request) => `tok-${request.id}`,
  });
  const model = new Model(() => clock.now());
  const generation = Array.from({ length: CLIENTS }, () => 0);
  const owner = (c: number) => `c${c}#${generation[c]}`;
  let seq = 0;
  for (const [step, o] of ops.entries()) {
    const where = `step ${step} ${JSON.stringify(o)}`;
    apply(o);
    assert.deepEqual(granted.sort(), model.grants.sort(), `${where}: grants`);
    granted.length = 0;
    model.grants.length = 0;
    compare(where);
  }

  function apply(o: Op): void {
    switch (o.kind) {
      case "acquire": {
        const size = SIZES[o.name]! + (o.wrongSize ? 1 : 0);
        const request = {
          id: `r${++seq}`,
          name: o.name,
          permits: size,
          count: Math.min(o.count, size),
          ...(o.ttlMs === null ? {} : { ttlMs: o.ttlMs }),
        };
        const expected = model.acquire(owner(o.client), request);
        const result = table.acquire(owner(o.client), request);
        const actual = "token" in result
          ? "granted"
          : "queued" in result
          ? "queued"
          : "refused";
        assert.equal(actual, expected, "acquire outcome");
        if ("token" in result) assert.equal(result.token, `tok-${request.id}`);
        return;
      }
      case "release": {
        const holds = [...model.sems].flatMap(([name, s]) =>
          s.holds.map((h) => ({ name, h }))
        );
        const target = holds[o.pick % Math.max(1, holds.length)];
        const name = target?.name ?? "m";
        const token = o.bogus || target === undefined ? "nope" : target.h.token;
        const expected = model.release(owner(o.client), name, token);
        const refusal = table.release(owner(o.client), name, token);
        assert.equal(
          refusal === undefined,
          expected,
          `release ${token}: ${refusal}`,
        );
        return;
      }
      case "renew": {
        const leases = [...model.sems].flatMap(([name, s]) =>
          s.holds.map((h) => ({ name, h }))
        );
        const target = leases[o.pick % Math.max(1, leases.length)];
        if (target === undefined) return;
        const expected = model.renew(target.name, target.h.token, o.ttlMs);
        const refusal = table.renew(target.name, target.h.token, o.ttlMs);
        assert.equal(refusal === undefined, expected, `renew: ${refusal}`);
        return;
      }
      case "withdraw": {
        const mine = [...model.sems.values()].flatMap((s) => s.queue)
          .filter((w) => w.owner === owner(o.client));
        const id = mine[o.pick % Math.max(1, mine.length)]?.id ?? "none";
        assert.equal(
          table.withdraw(owner(o.client), id),
          model.withdraw(owner(o.client), id),
        );
        return;
      }
      case "disconnect":
        model.disconnect(owner(o.client));
        table.drop(owner(o.client));
        generation[o.client]!++;
        return;
      case "advance":
        clock.advance(o.ms);
        model.expire();
        return;
    }
  }

  function compare(where: string): void {
    const names = new Set([...model.sems.keys(), ...table.names()]);
    for (const name of names) {
      const view = table.inspect(name);
      const sem = model.sems.get(name);
      assert.ok(
        view !== undefined && sem !== undefined,
        `${where}: "${name}" exists in both`,
      );
      const holds = (
        list: readonly {
          token: string;
          owner: string | undefined;
          count: number;
          expiresAtMs: number;
        }[],
      ) =>
        list.map(({ token, owner, count, expiresAtMs }) => ({
          token,
          owner,
          count,
          expiresAtMs,
        }))
          .sort((a, b) => a.token.localeCompare(b.token));
      assert.equal(view.permits, sem.permits, `${where}: size`);
      assert.deepEqual(
        holds(view.holds),
        holds(sem.holds),
        `${where}: holds of ${name}`,
      );
      assert.deepEqual(
        view.queue,
        sem.queue.map(({ owner, id, count }) => ({ owner, id, count })),
        `${where}: queue of ${name} in order`,
      );
      const used = view.holds.reduce((sum, h) => sum + h.count, 0);
      assert.ok(
        used <= view.permits,
        `${where}: ${used} permits held of ${view.permits}`,
      );
      const head = view.queue[0];
      assert.ok(
        head === undefined || used + head.count > view.permits,
        `${where}: waiter left behind`,
      );
    }
    const leases = [...model.sems].flatMap(([name, s]) =>
      s.holds.filter((h) => h.owner === undefined).map((h) => ({
        name,
        token: h.token,
        permits: s.permits,
        count: h.count,
        expiresAtMs: h.expiresAtMs,
      }))
    ).sort((a, b) => a.token.localeCompare(b.token));
    const stored = store.loadLeases().sort((a, b) =>
      a.token.localeCompare(b.token)
    );
    assert.deepEqual(
      stored,
      leases,
      `${where}: the store holds exactly the leases`,
    );
    const liveLeases = leases.length;
    assert.equal(
      clock.pending,
      liveLeases,
      `${where}: one expiry timer per lease`,
    );
  }
  table.stop();
}
