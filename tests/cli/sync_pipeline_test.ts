import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PERMISSIONS } from "../../cli/compile.ts";

const root = new URL("../../", import.meta.url);
const SCRIPT = fileURLToPath(new URL("examples/ci/sync.sh", root));
const MAIN = fileURLToPath(new URL("cli/main.ts", root));
/** em as the script runs it: deno with exactly the compiled binary's permissions. */
const EM = [Deno.execPath(), "run", "--quiet", ...PERMISSIONS, MAIN].join(" ");

Deno.test({
  name:
    "sync.sh: latched events, a lock and a barrier run the pipeline in order through a real emd",
  ignore: Deno.build.os === "windows", // a POSIX shell script
  async fn() {
    const { code, stdout, stderr } = await new Deno.Command("sh", {
      args: [SCRIPT],
      env: { EM, WAIT_MS: "60000" },
      cwd: root,
      stdin: "null",
    }).output();
    const lines = new TextDecoder().decode(stdout).trimEnd().split("\n");
    assert.equal(code, 0, new TextDecoder().decode(stderr) + lines.join("\n"));
    assert.equal(new TextDecoder().decode(stderr), "");
    assert.match(lines[0]!, /^emd: listening on 127\.0\.0\.1:\d+$/);
    assert.deepEqual(lines.slice(1, 3), [
      "deps: fetched",
      "build: built with dependencies",
    ]);
    assert.deepEqual(lines.slice(3, 5).sort(), [
      "test_integration: passed against the binary, database to itself",
      "test_unit: passed against the binary, database to itself",
    ]);
    assert.deepEqual(lines.slice(5), [
      "report: every suite passed",
      "pipeline: ok",
    ]);
  },
});
