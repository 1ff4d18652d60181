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

/**
 * A stand-in for `npx -y deno@2.9.6`: runs deno as its child and waits, as npx does, so that a
 * signal to it leaves deno running.
 */
async function npxLikeDeno(dir: string): Promise<string> {
  const path = `${dir}/npx-deno`;
  await Deno.writeTextFile(path, `#!/bin/sh\n"${Deno.execPath()}" "$@"\n`);
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test({
  name:
    "pipeline.sh: with only DENO (npx-like), emd runs as deno itself, so stopping the script stops emd",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const script = new Deno.Command("sh", {
        args: [
          new URL("../../examples/ci/pipeline.sh", import.meta.url).pathname,
        ],
        env: {
          EM: "",
          EM_SECRET: "",
          EM_SERVER: "",
          DENO: await npxLikeDeno(dir),
          WAIT_MS: "60000",
        },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(script.stderr).text();
      const reader = script.stdout.getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const port = Number(
        text.match(/^emd: listening on 127\.0\.0\.1:(\d+)\n/)?.[1],
      );
      script.kill("SIGTERM"); // as a CI runner cancelling the job
      while (!(await reader.read()).done) { /* drain */ }
      const { code } = await script.status;
      if (!(port > 0)) assert.fail(`no emd: ${text}${await stderr}`);
      assert.equal(code, 130);
      let tries = 0;
      while (!(await refused(port))) { // emd got the signal; wait until it is gone
        assert.ok(++tries < 500, "emd still listens after the script stopped");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await stderr;
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
