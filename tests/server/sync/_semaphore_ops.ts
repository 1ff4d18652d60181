// The random semaphore operations of the model tests: the single server's table
// (semaphore_model_test.ts) and the cluster's records (tests/server/delivery/).
import fc from "npm:fast-check@^4.10.2";
import { CLIENTS, type Op } from "./_semaphore_check.ts";

const client = fc.nat(CLIENTS - 1);
/** One random operation of one of the clients (or of the clock). */
export const semaphoreOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("acquire" as const),
      client,
      name: fc.constantFrom("m", "s"),
      wrongSize: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
      count: fc.integer({ min: 1, max: 3 }),
      ttlMs: fc.option(fc.integer({ min: 1, max: 50 })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("release" as const),
      client,
      pick: fc.nat(),
      bogus: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("renew" as const),
      pick: fc.nat(),
      ttlMs: fc.integer({ min: 1, max: 50 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("withdraw" as const),
      client,
      pick: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("disconnect" as const), client }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.integer({ min: 0, max: 40 }),
    }),
  },
);
