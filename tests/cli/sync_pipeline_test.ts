import assert from "node:assert/strict";
import { runExampleScript } from "../_helpers/cli.ts";

Deno.test({
  name:
    "sync.sh: latched events, a lock and a barrier run the pipeline in order through a real emd",
  ignore: Deno.build.os === "windows", // a POSIX shell script
  async fn() {
    const { code, lines, stderr } = await runExampleScript("sync.sh", 60_000);
    assert.equal(code, 0, stderr + lines.join("\n"));
    assert.equal(stderr, "");
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
