// Latched events through real processes: the EM race (a trigger before the wait is lost) and how
// emtrigger --latch fixes it; --reset; a plain trigger leaves a latch set.
import assert from "node:assert/strict";
import { startServer } from "../../mod.ts";
import { runTool } from "../_helpers/cli.ts";

const OK = { code: 0, stdout: "", stderr: "" };
const TIMEOUT = { code: 2, stdout: "timeout\n", stderr: "" };

Deno.test("emtrigger --latch: a trigger before the wait is lost, a latched one is not", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const at = ["127.0.0.1", String(server.addr.port)];
  // the race of EM 1.1: the producer finishes before the consumer starts waiting
  assert.deepEqual(await runTool(["emtrigger", ...at, "plain"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "plain", "100"]), TIMEOUT);
  // latched: every later wait returns at once, and it stays set
  assert.deepEqual(await runTool(["emtrigger", "--latch", ...at, "built"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "built", "-1"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "built", "0"]), OK);
  assert.deepEqual(
    await runTool(["emwait", ...at, "failed,built", "-1"]),
    { code: 0, stdout: "built\n", stderr: "" },
  );
});

Deno.test("emtrigger --reset: clears a latch; a plain trigger leaves it set", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const at = ["127.0.0.1", String(server.addr.port)];
  assert.deepEqual(await runTool(["emtrigger", "--latch", ...at, "ev"]), OK);
  assert.deepEqual(await runTool(["emtrigger", ...at, "ev"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "ev", "0"]), OK);
  assert.deepEqual(await runTool(["emtrigger", "--reset", ...at, "ev"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "ev", "50"]), TIMEOUT);
  // resetting what is not latched changes nothing and is not an error
  assert.deepEqual(await runTool(["emtrigger", "--reset", ...at, "ev"]), OK);
});

Deno.test("emtrigger: --latch, --reset and --data exclude each other (exit 64)", async () => {
  const result = await runTool(
    ["emtrigger", "--latch", "--reset", "127.0.0.1", "1", "ev"],
  );
  assert.equal(result.code, 64);
  assert.match(
    result.stderr,
    /^emtrigger: --latch and --reset do not go together\n/,
  );
  const data = await runTool(
    ["emtrigger", "--data", "1", "--latch", "127.0.0.1", "1", "ev"],
  );
  assert.equal(data.code, 64);
  assert.match(data.stderr, /^emtrigger: --data and --latch do not go/);
});
