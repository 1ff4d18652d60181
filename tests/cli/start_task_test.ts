// `deno task start` as the Quick start runs it, and with the options that need more than network
// permission: --agent, --data, --secret-file, TLS. Extra words after the task go to emd.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { connect } from "../../client/mod.ts";
import { makeCertificates, OPENSSL_MISSING } from "../_helpers/tls.ts";
import { startServerProcess, toolEnv } from "../_helpers/cli.ts";
import { FFI_FLAG, V8_FLAGS } from "../../cli/compile.ts";

const root = new URL("../../", import.meta.url);
const ROOT = fileURLToPath(root);
const decoder = new TextDecoder();
const { tasks } = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", root)),
) as { tasks: Record<string, string> };

/** The start task's words, with its fixed port 4000 swapped for --free-port (tests share a machine). */
function startWithFreePort(): string[] {
  const words = tasks.start!.split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  assert.deepEqual(words.slice(-3), ["emd", "4000", "em"]);
  assert.ok(
    words.includes(V8_FLAGS),
    "emd starts favouring memory, as compiled",
  );
  assert.ok(
    words.includes(FFI_FLAG),
    "emd may write with send(2), as compiled",
  );
  return [...words.slice(1, -2), "--free-port", "em"];
}

Deno.test("deno task start: extra words reach emd (--help through the real task)", async () => {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "start", "--help"],
    cwd: ROOT,
    env: toolEnv(),
    stdin: "null",
  }).output();
  assert.equal(code, 0);
  assert.match(decoder.decode(stdout), /^Usage: emd /);
});

Deno.test({
  name:
    "deno task start: its permissions cover --agent, --data, --secret-file and TLS",
  ignore: OPENSSL_MISSING !== undefined,
  async fn() {
    await using certs = await makeCertificates();
    const secretFile = `${certs.dir}/secret`;
    await Deno.writeTextFile(secretFile, "a-shared-secret-of-some-length\n");
    await using emd = await startServerProcess(Deno.execPath(), [
      ...startWithFreePort(),
      "-q",
      "--agent",
      "./examples/speed.ts",
      "--data",
      `${certs.dir}/data`,
      "--secret-file",
      secretFile,
      "--tls-cert",
      certs.certPath,
      "--tls-key",
      certs.keyPath,
    ], { cwd: ROOT });
    {
      await using client = await connect({
        port: Number(emd.port),
        secret: "a-shared-secret-of-some-length",
        tls: { caCerts: [certs.ca] },
      });
      assert.deepEqual(await client.call("speed/stats"), { streams: [] });
      await client.trigger("ready", { latch: true }); // kept in --data
    }
    await emd[Symbol.asyncDispose](); // SIGTERM
    const { code, stderr } = await emd.exited;
    assert.equal(code, 0, stderr);
  },
});

Deno.test("README: the emd alias and emd's deno install line run emd as the start task does, FFI included", async () => {
  const readme = (await Deno.readTextFile(new URL("README.md", root)))
    .replaceAll(/\\\n\s*/g, ""); // join continued shell lines
  const words = tasks.start!.split(/\s+/);
  const task = words.slice(2, words.indexOf("cli/main.ts")).sort();
  assert.ok(task.includes(FFI_FLAG) && task.includes(V8_FLAGS));
  const aliases = [
    ...readme.matchAll(
      /alias emd="npx -y deno@2\.9\.6 run ((?:--\S+ )+)\$PWD\/cli\/main\.ts emd"/g,
    ),
  ];
  const installs = [
    ...readme.matchAll(
      /deno install -g -f -q -n emd ((?:--\S+ )+)cli\/main\.ts -- emd/g,
    ),
  ];
  assert.equal(aliases.length, 2, "the walkthrough's and the one without deno");
  assert.equal(installs.length, 1);
  for (const [, flags] of [...aliases, ...installs]) {
    assert.deepEqual(flags!.trim().split(" ").sort(), task);
  }
  assert.doesNotMatch( // no other way of running a tool grants FFI
    readme.replaceAll(aliases[0]![0], "").replaceAll(installs[0]![0], ""),
    /--allow-ffi \S*(cli\/em_bundle\.js|cli\/main\.ts -- (?!emd))/,
  );
});
