// cli/main.ts picks the tool by the name it was started under, else by its first argument.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runTool, startEmd, type ToolResult } from "../_helpers/cli.ts";

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

/** Runs `<dir>/emwait run … cli/main.ts args…` against a fresh emd, emwait a symlink to deno. */
async function runAsEmwait(
  args: (port: string) => string[],
): Promise<ToolResult> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.symlink(Deno.execPath(), `${dir}/emwait`);
    await using emd = await startEmd("srv");
    return await runTool(args(String(emd.port)), {
      executable: `${dir}/emwait`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("em: a symlink named emwait runs emwait", async () => {
  // argv0 ends in /emwait, as for a compiled binary copied or linked under that name, and no
  // tool name is given as an argument.
  const result = await runAsEmwait((port) => ["127.0.0.1", port, "ev", "0"]);
  assert.deepEqual(result, { code: 2, stdout: "timeout\n", stderr: "" });
});

Deno.test("em: a first argument naming a tool wins over a tool-named argv0", async () => {
  // Asking for argv0 would start Deno's Node layer (Deno 2.9 reads /proc/self/cmdline only with
  // --allow-all), so `em TOOL` is taken as meant: `emwait emquit …` runs emquit (cli/_dispatch.ts).
  const result = await runAsEmwait((
    port,
  ) => ["emquit", "127.0.0.1", port, "srv"]);
  assert.deepEqual(result, { code: 0, stdout: "", stderr: "" });
});

Deno.test("em: with network permission only, the first argument still picks the tool", async () => {
  // No --allow-read: argv0 cannot come from /proc, and the `em TOOL` form is taken as meant.
  await using emd = await startEmd("srv");
  const main = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-net=127.0.0.1", main, "emtrigger"]
      .concat(["127.0.0.1", String(emd.port), "ev"]),
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  assert.deepEqual(
    { code, stdout: text.decode(stdout), stderr: text.decode(stderr) },
    { code: 0, stdout: "", stderr: "" },
  );
});
