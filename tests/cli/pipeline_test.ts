import assert from "node:assert/strict";
import { runExampleScript } from "../_helpers/cli.ts";

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
    const { code, lines, stderr } = await runExampleScript(
      "pipeline.sh",
      30_000,
    );
    assert.equal(code, 0, stderr + lines.join("\n"));
    assert.equal(stderr, "");
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
