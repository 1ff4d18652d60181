import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PERMISSIONS } from "../../cli/compile.ts";

const root = new URL("../../", import.meta.url);
const PIPELINE = fileURLToPath(new URL("examples/ci/pipeline.sh", root));
const MAIN = fileURLToPath(new URL("cli/main.ts", root));
/** em as the script runs it: deno with exactly the compiled binary's permissions. */
const EM = [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, MAIN].join(" ");

async function refused(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.ConnectionRefused;
  }
}

Deno.test({
  name:
    "pipeline.sh: jobs run in dependency order through a real emd, which stops at the end",
  ignore: Deno.build.os === "windows", // a POSIX shell script
  async fn() {
    const { code, stdout, stderr } = await new Deno.Command("sh", {
      args: [PIPELINE],
      env: { EM, WAIT_MS: "30000" },
      cwd: root,
      stdin: "null",
    }).output();
    const lines = new TextDecoder().decode(stdout).trimEnd().split("\n");
    assert.equal(code, 0, new TextDecoder().decode(stderr) + lines.join("\n"));
    assert.equal(new TextDecoder().decode(stderr), "");
    const port = Number(
      lines[0]?.match(/^emd: listening on 127\.0\.0\.1:(\d+)$/)?.[1],
    );
    assert.ok(port > 0, lines[0]);
    assert.deepEqual(lines.slice(1, 3), [
      "deps: fetched",
      "build: built with dependencies",
    ]);
    assert.deepEqual(lines.slice(3, 5).sort(), [
      "test_integration: passed against the binary",
      "test_unit: passed against the binary",
    ]);
    assert.deepEqual(lines.slice(5), [
      "report: every suite passed",
      "pipeline: ok",
    ]);
    assert.equal(
      await refused(port),
      true,
      "emd still listens after the pipeline",
    );
  },
});
