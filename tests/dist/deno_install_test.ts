// The README's `deno install` block, run for real: every tool installed under its own name, then
// run from another directory against a real emd.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TOOLS } from "../../cli/main.ts";
import {
  runProgram,
  startServerProcess,
  type ToolResult,
} from "../_helpers/cli.ts";

const root = new URL("../../", import.meta.url);
const ROOT = fileURLToPath(root);

/** The shell block after the README's `<!-- deno-install -->` marker. */
async function readmeBlock(): Promise<string> {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const after = readme.split("<!-- deno-install -->")[1];
  assert.ok(after, "README has no <!-- deno-install --> block");
  const block = after.match(/```sh\n([^]*?)```/)?.[1];
  assert.ok(block, "no sh block after the marker");
  return block;
}

function run(
  program: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<ToolResult> {
  return runProgram(program, { args, cwd: options.cwd, env: options.env });
}

Deno.test({
  name:
    "deno install: the README's block installs every tool, which runs by name elsewhere",
  ignore: Deno.build.os === "windows", // the block is POSIX sh
  async fn() {
    const block = await readmeBlock();
    const looped = block.match(/for tool in ([^;]+);/)?.[1]?.trim().split(
      /\s+/,
    );
    const apart = [...block.matchAll(/ -n (\w+) /g)].map((match) => match[1]!);
    const listed = [...looped ?? [], ...apart];
    assert.deepEqual(
      listed.sort(),
      Object.keys(TOOLS).filter((name) => name !== "install-links").sort(),
      "the README's list is every tool",
    );
    const home = await Deno.makeTempDir({ prefix: "em_deno_install_" });
    try {
      const env = {
        DENO_INSTALL_ROOT: home,
        PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`,
        EM_SECRET: "",
        EM_SERVER: "",
      };
      const installed = await run("sh", ["-ec", block], { cwd: ROOT, env });
      assert.equal(installed.code, 0, installed.stderr);
      const bin = join(home, "bin");
      const names = [...Deno.readDirSync(bin)].filter((entry) => entry.isFile)
        .map((entry) => entry.name).sort();
      assert.deepEqual(names, [...listed].sort());
      for (const name of names) { // FFI for emd's socket writes only (docs/SECURITY.md)
        const script = await Deno.readTextFile(join(bin, name));
        assert.equal(script.includes("--allow-ffi"), name === "emd", name);
      }

      const elsewhere = { cwd: home, env }; // not the checkout
      const version = await run(join(bin, "emwait"), ["--version"], elsewhere);
      assert.match(version.stdout, /^emwait \S+ \(em protocol /);

      await using emd = await startServerProcess(
        join(bin, "emd"),
        ["-q", "--free-port", "installed"],
        elsewhere,
      );
      const server = ["-s", `127.0.0.1:${emd.port}`];
      const latch = await run(
        join(bin, "emtrigger"),
        [...server, "--latch", "done"],
        elsewhere,
      );
      assert.deepEqual(latch, { code: 0, stdout: "", stderr: "" });
      const waited = await run(
        join(bin, "emwait"),
        [...server, "done", "5000"],
        elsewhere,
      );
      assert.deepEqual(waited, { code: 0, stdout: "", stderr: "" });
      const quit = await run(
        join(bin, "emquit"),
        [...server, "installed"],
        elsewhere,
      );
      assert.deepEqual(quit, { code: 0, stdout: "", stderr: "" });
      assert.equal((await emd.exited).code, 0);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});
