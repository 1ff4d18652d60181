import assert from "node:assert/strict";
import { TriggerMemory } from "../../client/trigger_memory.ts";

/** A request's outcome so far: "now" (served at once), "later" (served on a push), or "pending". */
function ask(memory: TriggerMemory, name: string, discards: boolean) {
  const outcome = {
    state: "pending" as "now" | "later" | "pending",
    withdraw: () => {},
  };
  const result = memory.request(name, discards, () => outcome.state = "later");
  if (result === true) outcome.state = "now";
  else outcome.withdraw = result;
  return outcome;
}

Deno.test("TriggerMemory: wait Y then wait X after X, Y: Y at once, X sleeps (EM spec a)", () => {
  const memory = new TriggerMemory(100);
  memory.push("X");
  memory.push("Y");
  assert.equal(ask(memory, "Y", true).state, "now");
  assert.equal(ask(memory, "X", true).state, "pending");
  assert.deepEqual(memory.remembered, []);
});

Deno.test("TriggerMemory: wait X then wait Y after X, Y: both at once (EM spec b)", () => {
  const memory = new TriggerMemory(100);
  memory.push("X");
  memory.push("Y");
  assert.equal(ask(memory, "X", true).state, "now");
  assert.equal(ask(memory, "Y", true).state, "now");
  assert.deepEqual(memory.remembered, []);
});

Deno.test("TriggerMemory: a wait that finds nothing discards everything remembered", () => {
  const memory = new TriggerMemory(100);
  memory.push("A");
  memory.push("B");
  const wait = ask(memory, "C", true);
  assert.deepEqual(memory.remembered, []);
  memory.push("A"); // arrives while waiting: discarded
  assert.deepEqual(memory.remembered, []);
  memory.push("C");
  assert.equal(wait.state, "later");
  assert.equal(ask(memory, "A", true).state, "pending");
});

Deno.test("TriggerMemory: next takes only its own name and discards nothing", () => {
  const memory = new TriggerMemory(100);
  for (const name of ["X", "Y", "X", "Z"]) memory.push(name);
  assert.equal(ask(memory, "Y", false).state, "now");
  assert.deepEqual(memory.remembered, ["X", "X", "Z"]);
  assert.equal(ask(memory, "X", false).state, "now");
  assert.equal(ask(memory, "X", false).state, "now");
  const pending = ask(memory, "X", false);
  assert.equal(pending.state, "pending");
  assert.deepEqual(memory.remembered, ["Z"]);
  memory.push("Y");
  assert.equal(pending.state, "pending");
  assert.deepEqual(memory.remembered, ["Z", "Y"]); // kept for later next() calls
  memory.push("X");
  assert.equal(pending.state, "later");
  assert.deepEqual(memory.remembered, ["Z", "Y"]);
});

Deno.test("TriggerMemory: a pending next gets its trigger before a pending wait discards it", () => {
  const memory = new TriggerMemory(100);
  const next = ask(memory, "A", false);
  const wait = ask(memory, "B", true);
  memory.push("A");
  assert.equal(next.state, "later");
  assert.equal(wait.state, "pending");
});

Deno.test("TriggerMemory: concurrent waits on different names each get their trigger", () => {
  const memory = new TriggerMemory(100);
  const waitX = ask(memory, "X", true);
  const waitY = ask(memory, "Y", true);
  memory.push("Y");
  assert.equal(waitY.state, "later");
  assert.equal(waitX.state, "pending");
  memory.push("Z"); // nobody waits for it: discarded
  memory.push("X");
  assert.equal(waitX.state, "later");
  assert.deepEqual(memory.remembered, []);
});

Deno.test("TriggerMemory: one trigger serves one wait; the next trigger serves the next", () => {
  const memory = new TriggerMemory(100);
  const first = ask(memory, "X", true);
  const second = ask(memory, "X", true);
  memory.push("X");
  assert.equal(first.state, "later");
  assert.equal(second.state, "pending");
  memory.push("X");
  assert.equal(second.state, "later");
});

Deno.test("TriggerMemory: a withdrawn request is not served", () => {
  const memory = new TriggerMemory(100);
  const wait = ask(memory, "X", true);
  wait.withdraw();
  wait.withdraw(); // twice is harmless
  memory.push("X");
  assert.equal(wait.state, "pending");
  assert.deepEqual(memory.remembered, ["X"]); // nobody waits: remembered
});

Deno.test("TriggerMemory: past its capacity the oldest triggers are dropped and counted", () => {
  const memory = new TriggerMemory(3);
  for (const name of ["A", "B", "C", "D", "E"]) memory.push(name);
  assert.deepEqual(memory.remembered, ["C", "D", "E"]);
  assert.equal(memory.dropped, 2);
  assert.equal(ask(memory, "A", false).state, "pending");
  assert.equal(ask(memory, "D", true).state, "now");
  assert.deepEqual(memory.remembered, ["E"]);
});
