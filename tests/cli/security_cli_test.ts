// The security flags as processes: emd --secret-file / EM_SECRET / --tls-cert / --no-remote-quit,
// and --secret-file, EM_SECRET, --tls, --tls-ca on the client tools.
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "../../client/mod.ts";
import {
  runTool,
  spawnTool,
  startEmd,
  type ToolProcess,
  type ToolResult,
} from "../_helpers/cli.ts";
import { makeCertificates, OPENSSL_MISSING } from "../_helpers/tls.ts";

const SECRET = "open sesame";

/** A temporary directory with `secret` (the shared secret plus a newline) and `wrong`. */
async function secretFiles() {
  const dir = await Deno.makeTempDir({ prefix: "em_secret_" });
  await Deno.writeTextFile(join(dir, "secret"), SECRET + "\n");
  await Deno.writeTextFile(join(dir, "wrong"), "guess\n");
  await Deno.writeTextFile(join(dir, "empty"), "\n");
  return {
    secret: join(dir, "secret"),
    wrong: join(dir, "wrong"),
    empty: join(dir, "empty"),
    missing: join(dir, "missing"),
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Repeats `send` (a trigger) until `waiter` exits, at most 20 times: emd's log shows a waiter
 * connected before its receive flag is handled, and a trigger before that is lost, never wrong
 * (the same reasoning as tests/cli/quickstart_test.ts).
 */
async function repeatUntilExit(
  waiter: ToolProcess,
  send: () => Promise<void>,
): Promise<ToolResult> {
  for (let attempt = 0; attempt < 20 && !waiter.exited; attempt++) await send();
  if (!waiter.exited) throw new Error("the waiting tool never woke");
  return await waiter.result;
}

Deno.test("security cli: emwait and emtrigger authenticate with --secret-file and EM_SECRET", async () => {
  await using files = await secretFiles();
  await using emd = await startEmd("t", ["--secret-file", files.secret]);
  const port = String(emd.port);
  await using waiter = spawnTool([
    "emwait",
    "--secret-file",
    files.secret,
    "127.0.0.1",
    port,
    "deployed",
    "-1",
  ]);
  await emd.waitForLog(/Authenticated 127\.0\.0\.1:\d+\n/); // emwait is in
  const woken = await repeatUntilExit(waiter, async () => {
    const sent = await runTool(["emtrigger", "127.0.0.1", port, "deployed"], {
      env: { EM_SECRET: SECRET },
    });
    assert.deepEqual(sent, { code: 0, stdout: "", stderr: "" });
  });
  assert.deepEqual(woken, { code: 0, stdout: "", stderr: "" });
});

Deno.test("security cli: a wrong or missing secret exits 1 with one line; nothing is triggered", async () => {
  await using files = await secretFiles();
  await using emd = await startEmd("t", ["--secret-file", files.secret]);
  const port = String(emd.port);
  await using watcher = await connect({
    port: emd.port,
    secret: SECRET,
    receive: true,
  });
  await watcher.flush();
  const wrong = await runTool([
    "emtrigger",
    "--secret-file",
    files.wrong,
    "127.0.0.1",
    port,
    "x",
  ]);
  assert.deepEqual(wrong, {
    code: 1,
    stdout: "",
    stderr:
      `emtrigger: Refused by "127.0.0.1:${port}": Authentication failed: wrong shared secret\n`,
  });
  const missing = await runTool(["emtrigger", "127.0.0.1", port, "x"], {
    env: { EM_SECRET: "" },
  });
  assert.deepEqual(missing, {
    code: 1,
    stdout: "",
    stderr:
      `emtrigger: Cannot connect to "127.0.0.1:${port}": the server requires a shared secret (give one: --secret-file or EM_SECRET)\n`,
  });
  await emd.waitForLog(/Authentication failed: wrong proof \(another secret\)/);
  await watcher.flush();
  assert.equal(await watcher.next("x", { timeoutMs: 0 }), false);
});

Deno.test("security cli: an unreadable or empty secret file exits 1 before connecting", async () => {
  await using files = await secretFiles();
  const port = "1"; // never reached
  for (
    const [path, stderr] of [
      [
        files.missing,
        `Cannot read secret file "${files.missing}": No such file or directory`,
      ],
      [files.empty, `Cannot use secret file "${files.empty}": it is empty`],
    ]
  ) {
    const result = await runTool([
      "emquit",
      "--secret-file",
      path!,
      "127.0.0.1",
      port,
      "t",
    ]);
    assert.deepEqual(result, {
      code: 1,
      stdout: "",
      stderr: `emquit: ${stderr}\n`,
    });
  }
  const emd = await runTool([
    "emd",
    "--secret-file",
    files.missing,
    "--free-port",
    "t",
  ]);
  assert.equal(emd.code, 1);
  assert.equal(
    emd.stderr,
    `emd: Cannot read secret file "${files.missing}": No such file or directory\n`,
  );
});

Deno.test("security cli: emd takes its secret from EM_SECRET; quit needs it", async () => {
  await using emd = await startEmd("t", [], [], { env: { EM_SECRET: SECRET } });
  const port = String(emd.port);
  const refused = await runTool(["emquit", "127.0.0.1", port, "t"], {
    env: { EM_SECRET: "" },
  });
  assert.equal(refused.code, 1);
  {
    await using client = await connect({ port: emd.port, secret: SECRET });
    await client.flush(); // still serving
  }
  const quit = await runTool(["emquit", "127.0.0.1", port, "t"], {
    env: { EM_SECRET: SECRET },
  });
  assert.deepEqual(quit, { code: 0, stdout: "", stderr: "" });
  assert.equal((await emd.exited()).code, 0);
});

Deno.test("security cli: emd --no-remote-quit logs a quit, tells emquit (exit 1) and goes on", async () => {
  await using emd = await startEmd("t", ["--no-remote-quit"]);
  const port = String(emd.port);
  const quit = await runTool(["emquit", "127.0.0.1", port, "t"]);
  assert.deepEqual(quit, {
    code: 1,
    stdout: "",
    stderr:
      `emquit: Cannot quit "127.0.0.1:${port}": Quit over the network is disabled\n`,
  });
  await emd.waitForLog(
    /WARNING Dropped a message from 127\.0\.0\.1:\d+: refused quit: quit over the network is disabled\n/,
  );
  await using client = await connect({ port: emd.port });
  await client.flush(); // still serving
});

Deno.test("security cli: emd warns when listening beyond loopback without a secret", async () => {
  await using files = await secretFiles();
  const warning =
    /WARNING Listening on 0\.0\.0\.0:\d+ WITHOUT A SHARED SECRET: /;
  {
    await using open = await startEmd("t", ["--host", "0.0.0.0"]);
    await open.waitForLog(warning);
  }
  for (
    const flags of [[], ["--host", "0.0.0.0", "--secret-file", files.secret]]
  ) {
    await using quiet = await startEmd("t", flags);
    await using client = await connect({
      port: quiet.port,
      ...(flags.length > 0 ? { secret: SECRET } : {}),
    });
    await client.flush(); // emd has long printed its start-up lines
    assert.doesNotMatch(quiet.stderr(), /WITHOUT A SHARED SECRET/);
  }
});

Deno.test("security cli: emtail and emsub authenticate too; emtail does not retry a wrong secret", async () => {
  await using files = await secretFiles();
  await using emd = await startEmd("t", ["--secret-file", files.secret]);
  const port = String(emd.port);
  const cfg = join(files.secret, "..", "patterns.cfg");
  await Deno.writeTextFile(cfg, "failed=FAIL\n");
  await using sub = spawnTool([
    "emsub",
    "-c",
    "1",
    "--secret-file",
    files.secret,
    "127.0.0.1",
    port,
    "failed",
  ]);
  await emd.waitForLog(/Authenticated 127\.0\.0\.1:\d+\n/); // emsub is in
  const { code, stdout } = await repeatUntilExit(sub, async () => {
    const tail = await runTool(
      ["emtail", "--secret-file", files.secret, "127.0.0.1", port, "-", cfg],
      { stdin: "ok\nFAIL now\n" },
    );
    assert.deepEqual(tail, { code: 0, stdout: "", stderr: "" });
  });
  assert.equal(code, 0);
  assert.equal(JSON.parse(stdout).name, "failed");
  const wrong = await runTool(
    ["emtail", "--secret-file", files.wrong, "127.0.0.1", port, "-", cfg],
    { stdin: "FAIL\n" },
  );
  assert.deepEqual(wrong, {
    code: 1,
    stdout: "",
    stderr:
      `emtail: Refused by "127.0.0.1:${port}": Authentication failed: wrong shared secret\n`,
  });
});

Deno.test({
  name:
    "security cli: emd serves TLS; emwait and emtail trust it with --tls-ca, emtrigger not with --tls alone",
  ignore: OPENSSL_MISSING !== undefined,
  async fn() {
    await using certs = await makeCertificates();
    await using emd = await startEmd("t", [
      "--tls-cert",
      certs.certPath,
      "--tls-key",
      certs.keyPath,
    ]);
    const port = String(emd.port);
    const ca = ["--tls-ca", certs.caPath];
    await using waiter = spawnTool([
      "emwait",
      ...ca,
      "localhost",
      port,
      "up",
      "-1",
    ]);
    await emd.waitForLog(/Accepted 127\.0\.0\.1:\d+\n/);
    const cfg = join(certs.dir, "patterns.cfg");
    await Deno.writeTextFile(cfg, "up=service is up\n");
    const woken = await repeatUntilExit(waiter, async () => { // emtail's queue speaks TLS too
      const sent = await runTool(
        ["emtail", ...ca, "127.0.0.1", port, "-", cfg],
        { stdin: "service is up\n" },
      );
      assert.deepEqual(sent, { code: 0, stdout: "", stderr: "" });
    });
    assert.deepEqual(woken, { code: 0, stdout: "", stderr: "" });
    const untrusted = await runTool([
      "emtrigger",
      "--tls",
      "127.0.0.1",
      port,
      "up",
    ]);
    assert.deepEqual(untrusted, {
      code: 1,
      stdout: "",
      stderr:
        `emtrigger: Cannot connect to "127.0.0.1:${port}": TLS: invalid peer certificate: UnknownIssuer\n`,
    });
  },
});

Deno.test("security cli: --tls-cert without --tls-key is a usage error", async () => {
  const result = await runTool([
    "emd",
    "--tls-cert",
    "cert.pem",
    "--free-port",
    "t",
  ]);
  assert.equal(result.code, 64);
  assert.match(result.stderr, /^emd: --tls-cert and --tls-key go together\n/);
});

Deno.test("security cli: emcall calls an agent of a protected emd with --secret-file", async () => {
  await using files = await secretFiles();
  const speed = fileURLToPath(
    new URL("../../examples/speed.ts", import.meta.url),
  );
  await using emd = await startEmd("t", [
    "-q",
    "--secret-file",
    files.secret,
    "--agent",
    speed,
  ]);
  const args = ["127.0.0.1", String(emd.port), "speed/get", '{"unit":"kmh"}'];
  const called = await runTool([
    "emcall",
    "--secret-file",
    files.secret,
    ...args,
  ]);
  assert.equal(called.code, 0, called.stderr);
  assert.equal(JSON.parse(called.stdout).unit, "kmh");
  const refused = await runTool(["emcall", ...args], {
    env: { EM_SECRET: "" },
  });
  assert.equal(refused.code, 1);
});
