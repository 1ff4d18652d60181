// cli/main.ts picks the tool by the name it was started under, else by its first argument.
import assert from "node:assert/strict";
import { RUN_FLAGS, runTool, startEmd } from "../_helpers/cli.ts";

Deno.test("em: the first argument picks the tool (em emwait …)", async () => {
  await using emd = await startEmd("srv");
  const result = await runTool([
    "emwait",
    "127.0.0.1",
    String(emd.port),
    "ev",
    "0",
  ]);
  assert.deepEqual(result, { code: 2, stdout: "timeout\n", stderr: "" });
});

Deno.test("em: a symlink named emwait runs emwait", async () => {
  // A symlink to deno called emwait: deno then reports argv0 ending in /emwait, as a compiled
  // binary copied or linked under that name would.
  const dir = await Deno.makeTempDir();
  try {
    const emwait = `${dir}/emwait`;
    await Deno.symlink(Deno.execPath(), emwait);
    await using emd = await startEmd("srv");
    const port = String(emd.port);
    const main = new URL("../../cli/main.ts", import.meta.url).pathname;
    const output = await new Deno.Command(emwait, {
      args: [...RUN_FLAGS, main, "127.0.0.1", port, "ev", "0"],
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    assert.deepEqual({
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    }, { code: 2, stdout: "timeout\n", stderr: "" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
