// The original EM quick start, with real processes: emd, then emwait in the background, then
// emtrigger wakes it, then emquit stops emd.
//
// Subscription without sleeps: emwait prints nothing before it waits, so the test cannot see the
// moment its receive flag reaches emd. The test waits for emd's log line accepting emwait's
// connection (emwait is connected and about to send its flag), then runs emtrigger until emwait
// exits, at most TRIGGER_ATTEMPTS times. emd delivers a trigger only to connections already
// receiving, so an early trigger is lost, never wrong: the loop just repeats it. emtrigger exits
// only after emd has processed its trigger, so every attempt after emwait's flag arrived wakes it;
// starting a process takes far longer than emwait needs to send one line, so the first attempt
// nearly always does. The bound turns "never woke" into a failure instead of a hang.
import assert from "node:assert/strict";
import {
  runTool,
  spawnTool,
  startEmd,
  type ToolProcess,
  type ToolResult,
} from "../_helpers/cli.ts";

const TRIGGER_ATTEMPTS = 20;

/** Runs emtrigger until `waiter` exits (bounded); returns the waiter's result. */
async function triggerUntilExit(
  waiter: ToolProcess,
  port: string,
  event: string,
): Promise<ToolResult> {
  for (let attempt = 0; attempt < TRIGGER_ATTEMPTS; attempt++) {
    if (waiter.exited) return await waiter.result;
    const sent = await runTool(["emtrigger", "127.0.0.1", port, event]);
    assert.deepEqual(sent, { code: 0, stdout: "", stderr: "" });
  }
  if (waiter.exited) return await waiter.result;
  throw new Error(`emwait did not wake after ${TRIGGER_ATTEMPTS} triggers`);
}

Deno.test("tools: the original quick start end to end", async () => {
  await using emd = await startEmd("srv");
  const port = String(emd.port);
  await using emwait = spawnTool(["emwait", "127.0.0.1", port, "ev", "60000"]);
  await emd.waitForLog("Accepted 127.0.0.1:");
  const woken = await triggerUntilExit(emwait, port, "ev");
  assert.deepEqual(woken, { code: 0, stdout: "", stderr: "" });
  const quit = await runTool(["emquit", "127.0.0.1", port, "srv"]);
  assert.deepEqual(quit, { code: 0, stdout: "", stderr: "" });
  const stopped = await emd.exited();
  assert.equal(stopped.code, 0);
  assert.match(
    stopped.stderr,
    /emd INFO Stopping: quit requested by 127\.0\.0\.1:\d+\n/,
  );
});

Deno.test('emwait: a timeout prints exactly "timeout" and exits 2', async () => {
  await using emd = await startEmd("srv");
  const port = String(emd.port);
  const result = await runTool(["emwait", "127.0.0.1", port, "ev", "100"]);
  assert.deepEqual(result, { code: 2, stdout: "timeout\n", stderr: "" });
});

Deno.test("emwait: -1 waits until the event is triggered", async () => {
  await using emd = await startEmd("srv");
  const port = String(emd.port);
  await using emwait = spawnTool(["emwait", "127.0.0.1", port, "ev", "-1"]);
  await emd.waitForLog("Accepted 127.0.0.1:");
  const woken = await triggerUntilExit(emwait, port, "ev");
  assert.deepEqual(woken, { code: 0, stdout: "", stderr: "" });
});
