// deno-lint-ignore-file no-console -- an example prints what it shows
/**
 * Embeds an em server and coordinates with its sync primitives: a latch that a late waiter still
 * sees, a semaphore that lets two of four workers in at once, a barrier, and a condition variable.
 *
 *     deno run --allow-net=127.0.0.1 examples/sync.ts
 *
 * @module
 */
import { connect, startServer } from "../mod.ts";

await using server = await startServer({ port: 0, name: "example" });
const port = server.addr.port;

// A latch: triggered before anybody waits, and still seen by a waiter that comes later.
await using ci = await connect({ port, appName: "ci" });
await ci.trigger("build_done", { latch: true });
await using late = await connect({ port, receive: true, appName: "late" });
console.log("late waiter sees:", await late.waitAny(["build_done"], 1_000));

// A semaphore of 2 permits, four workers: never more than two inside at once.
let inside = 0, most = 0;
const workers = await Promise.all([1, 2, 3, 4].map(() => connect({ port })));
await Promise.all(workers.map(async (worker) => {
  await using _permit = await worker.semaphore("db", 2);
  most = Math.max(most, ++inside);
  await worker.barrier("pair", 2, { timeoutMs: 5_000 }); // two meet inside, then leave
  inside--;
}));
console.log("most workers inside at once:", most);

// A barrier: all four continue together.
await Promise.all(workers.map((worker) => worker.barrier("phase_2", 4)));
console.log("all four passed the barrier");
await Promise.all(workers.map((worker) => worker.close()));

// A condition variable: the consumer sleeps without holding the mutex until notified.
const jobs: string[] = [];
await using consumer = await connect({ port, receive: true });
await using producer = await connect({ port });
const hold = await consumer.lock("jobs");
const consumed = (async () => {
  await using _hold = hold;
  const ready = consumer.condition("jobs");
  while (jobs.length === 0) await ready.wait(hold, { timeoutMs: 5_000 });
  return jobs.shift();
})();
{
  await using _hold = await producer.lock("jobs"); // granted once the consumer waits
  jobs.push("deploy");
  await producer.condition("jobs").notify();
}
console.log("consumer took:", await consumed);
