// emd --data through the tools: a latch and a lease made with emtrigger and emlock survive kill -9
// of emd and a restart on the same directory; a hold bound to a connection does not.
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTool, startEmd } from "../_helpers/cli.ts";
import {
  acquireLease,
  NOOP,
  OK,
  releaseFrees,
  tempDir,
  TIMEOUT,
} from "../_helpers/sync_cli.ts";

Deno.test("emd --data: latches and leases made by the tools survive kill -9 and a restart", async () => {
  await using dir = await tempDir();
  const data = ["--data", join(dir.path, "state")];
  let token: string;
  {
    await using emd = await startEmd("t", data);
    const at = ["127.0.0.1", String(emd.port)];
    assert.deepEqual(
      await runTool(["emtrigger", "--latch", ...at, "built"]),
      OK,
    );
    token = await acquireLease(at, "deploy");
    emd.child.kill("SIGKILL");
    assert.equal((await emd.exited()).code, 137);
  }
  await using emd = await startEmd("t", data);
  const at = ["127.0.0.1", String(emd.port)];
  assert.deepEqual(await runTool(["emwait", ...at, "built", "0"]), OK);
  assert.deepEqual(
    await runTool(["emlock", "--timeout", "0", ...at, "deploy", "--", ...NOOP]),
    TIMEOUT,
  );
  await releaseFrees(at, "deploy", token);
  assert.deepEqual(await runTool(["emtrigger", "--reset", ...at, "built"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "built", "0"]), TIMEOUT);
});
