// EM_SECRET is read without the permission query's first call (0.3 ms of every one-shot start)
// when stdin is no terminal, as in scripts and CI: there Deno never prompts, so a read that is
// not allowed simply fails. A process with stdin from /dev/null, whose permission query throws.
import assert from "node:assert/strict";

const TOOL = new URL("../../cli/_tool.ts", import.meta.url).href;
const SCRIPT = `
Deno.permissions.querySync = () => { throw new Error("queried"); };
const { readSecret } = await import(${JSON.stringify(TOOL)});
console.log(JSON.stringify(readSecret("t", {}) ?? null));
`;

async function secretRead(flags: string[], secret: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "em_env_secret_" });
  try {
    await Deno.writeTextFile(`${dir}/read.ts`, SCRIPT);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--no-config", ...flags, `${dir}/read.ts`],
      env: { EM_SECRET: secret },
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(stdout).trim();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    return text;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("EM_SECRET: read with no permission query when stdin is no terminal", async () => {
  assert.equal(await secretRead(["--allow-env"], "s3cret"), '"s3cret"');
  assert.equal(await secretRead(["--allow-env"], ""), "null"); // empty: none
});

Deno.test("EM_SECRET: without env permission and no terminal, no secret and no prompt", async () => {
  assert.equal(await secretRead([], "s3cret"), "null");
  assert.equal(await secretRead(["--allow-env=HOME"], "s3cret"), "null");
});
