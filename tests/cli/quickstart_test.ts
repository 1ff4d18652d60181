import assert from "node:assert/strict";
import { runTool, startEmd } from "../_helpers/cli.ts";

Deno.test("tools: the original quick start end to end", async () => {
  await using emd = await startEmd("srv");
  const port = String(emd.port);
  const timeout = await runTool(["emwait", "127.0.0.1", port, "x", "100"]);
  assert.deepEqual(timeout, { code: 2, stdout: "timeout\n", stderr: "" });
  const quit = await runTool(["emquit", "127.0.0.1", port, "srv"]);
  assert.equal(quit.code, 0);
  assert.equal((await emd.exited()).code, 0);
});
