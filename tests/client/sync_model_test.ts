// End-to-end model test of locks and semaphores over real TCP: fast-check picks sequences of
// acquire, release, abort (withdraw) and disconnect by several real clients of one emd; after each
// step every client makes a round trip, and the holds the clients see must be exactly those of the
// reference model (tests/server/sync/_model.ts): FIFO grants, never more permits held than the
// size, nobody left waiting while permits are free. EM_FC_SEED replays a printed seed.
import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { connect, type EmClient, type Hold } from "../../client/mod.ts";
import { startServer } from "../../server/mod.ts";
import { Model } from "../server/sync/_model.ts";

const NUM_RUNS = Number(Deno.env.get("EM_FC_RUNS") ?? 15);
const SEED = Number(Deno.env.get("EM_FC_SEED") ?? Date.now() % 2 ** 31);
const CLIENTS = 4;
const SIZES: Record<string, number> = { m: 1, s: 3 };

type Op =
  | { kind: "acquire"; client: number; name: string; count: number }
  | { kind: "release"; client: number; pick: number }
  | { kind: "abort"; client: number; pick: number }
  | { kind: "disconnect"; client: number };

const client = fc.nat(CLIENTS - 1);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("acquire" as const),
      client,
      name: fc.constantFrom("m", "s"),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("release" as const),
      client,
      pick: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("abort" as const),
      client,
      pick: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("disconnect" as const), client }),
  },
);

interface Request {
  readonly id: string;
  readonly name: string;
  readonly count: number;
  readonly controller: AbortController;
  readonly outcome: Promise<unknown>;
  hold?: Hold;
  ended: boolean; // released, withdrawn, or its connection closed
}

async function run(ops: Op[]): Promise<void> {
  await using server = await startServer({ port: 0, name: "model" });
  const connectOne = () => connect({ port: server.addr.port });
  const clients: EmClient[] = await Promise.all(
    Array.from({ length: CLIENTS }, connectOne),
  );
  const generation = Array.from({ length: CLIENTS }, () => 0);
  const requests: Request[][] = Array.from({ length: CLIENTS }, () => []);
  const owner = (c: number) => `c${c}#${generation[c]}`;
  const model = new Model(() => 0);
  let seq = 0;
  try {
    for (const [step, o] of ops.entries()) {
      await apply(o);
      await settle(o);
      compare(`step ${step} ${JSON.stringify(o)}`);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.allSettled(requests.flat().map((r) => r.outcome));
  }

  async function apply(o: Op): Promise<void> {
    const mine = requests[o.client]!;
    if (o.kind === "acquire") {
      const size = SIZES[o.name]!;
      const count = Math.min(o.count, size);
      const id = `r${++seq}`;
      model.acquire(owner(o.client), {
        id,
        name: o.name,
        permits: size,
        count,
      });
      const controller = new AbortController();
      const request: Request = {
        id,
        name: o.name,
        count,
        controller,
        ended: false,
        outcome: clients[o.client]!.semaphore(o.name, size, {
          count,
          signal: controller.signal,
        }).then((hold) => request.hold = hold, () => request.ended = true),
      };
      mine.push(request);
      model.grants.length = 0;
    } else if (o.kind === "release") {
      const held = mine.filter((r) => r.hold !== undefined && !r.ended);
      const request = held[o.pick % Math.max(1, held.length)];
      if (request === undefined) return;
      request.ended = true;
      await request.hold!.release();
      model.release(owner(o.client), request.name, `tok-${request.id}`);
    } else if (o.kind === "abort") {
      const waiting = mine.filter((r) => r.hold === undefined && !r.ended);
      const request = waiting[o.pick % Math.max(1, waiting.length)];
      if (request === undefined) return;
      request.controller.abort(new Error("withdrawn"));
      await request.outcome; // rejected once the server echoed the withdrawal
      model.withdraw(owner(o.client), request.id);
    } else {
      await clients[o.client]!.close();
      await Promise.allSettled(mine.map((r) => r.outcome));
      for (const request of mine) request.ended = true;
      model.disconnect(owner(o.client));
      generation[o.client]!++;
      clients[o.client] = await connectOne();
    }
  }

  /** The actor's messages are handled; then every grant they caused has reached its client. */
  async function settle(o: Op): Promise<void> {
    await clients[o.client]!.flush();
    await Promise.all(clients.map((c) => c.flush()));
    await new Promise((resolve) => setTimeout(resolve, 0)); // let grant callbacks run
  }

  function compare(where: string): void {
    const expected = [...model.sems].flatMap(([, sem]) =>
      sem.holds.map((h) => h.token.slice("tok-".length))
    ).sort();
    const actual = requests.flat().filter((r) => r.hold && !r.ended)
      .map((r) => r.id).sort();
    assert.deepEqual(actual, expected, `${where}: the holds clients see`);
    for (const name of Object.keys(SIZES)) {
      const used = requests.flat()
        .filter((r) => r.name === name && r.hold && !r.ended)
        .reduce((sum, r) => sum + r.count, 0);
      assert.ok(used <= SIZES[name]!, `${where}: ${used} permits of ${name}`);
    }
  }
}

Deno.test("sync over TCP: random locks, semaphores, aborts and disconnects match the model", async () => {
  // deno-lint-ignore no-console
  console.log(`fast-check seed ${SEED} (EM_FC_SEED), ${NUM_RUNS} runs`);
  await fc.assert(
    fc.asyncProperty(
      fc.array(op, { minLength: 5, maxLength: 30, size: "max" }),
      (ops) => run(ops),
    ),
    { numRuns: NUM_RUNS, seed: SEED },
  );
});
