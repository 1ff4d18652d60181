// emd as a process: signals, quit with a wrong name, quiet levels.
import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import { runTool, spawnTool, startEmd } from "../_helpers/cli.ts";

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`emd: ${signal} closes everything and exits 0`, async () => {
    await using emd = await startEmd("srv");
    await using client = await connect({ port: emd.port, receive: true });
    await client.flush(); // emd has accepted and served us
    emd.child.kill(signal);
    const { code, stderr } = await emd.exited();
    assert.equal(code, 0);
    assert.match(stderr, /emd INFO Stopping: signal\n/);
    assert.match(stderr, /Closed 127\.0\.0\.1:\d+: Server stopping: signal\n/);
    assert.equal((await client.closed).code, "closed");
  });
}

Deno.test("emd: emquit with a wrong name says so (exit 1) and leaves it running", async () => {
  await using emd = await startEmd("srv");
  const port = String(emd.port);
  const wrong = await runTool(["emquit", "127.0.0.1", port, "other"]);
  assert.deepEqual(wrong, {
    code: 1,
    stdout: "",
    stderr:
      `emquit: Cannot quit "127.0.0.1:${port}": Wrong server name "other"\n`,
  });
  await emd.waitForLog('refused quit: wrong server name "other"');
  {
    await using client = await connect({ port: emd.port });
    await client.flush(); // still serving
  }
  const right = await runTool(["emquit", "127.0.0.1", port, "srv"]);
  assert.deepEqual(right, { code: 0, stdout: "", stderr: "" });
  assert.equal((await emd.exited()).code, 0);
});

Deno.test("emquit: a 1.1 server never answers: exit 0 once sent, as EM did", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const heard = (async () => {
    using conn = await listener.accept();
    await conn.write(new TextEncoder().encode("H1.1\n"));
    let text = "";
    const buffer = new Uint8Array(256);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return text; // everything emquit sent, up to its end
  })();
  const port = String((listener.addr as Deno.NetAddr).port);
  const result = await runTool(["emquit", "127.0.0.1", port, "other"]);
  assert.deepEqual(result, { code: 0, stdout: "", stderr: "" });
  assert.match(await heard, /\nQother\n$/);
});

Deno.test("emd: -q logs only problems, -Q logs nothing", async () => {
  for (
    const [flag, expected] of [["-q", /^(emd WARNING [^\n]+\n)+$/], [
      "-Q",
      /^$/,
    ]] as const
  ) {
    await using emd = await startEmd("srv", [flag]);
    const port = String(emd.port);
    await runTool(["emquit", "127.0.0.1", port, "other"]);
    await runTool(["emquit", "127.0.0.1", port, "srv"]);
    const { code, stderr } = await emd.exited();
    assert.equal(code, 0);
    assert.match(stderr, expected, `emd ${flag} logged:\n${stderr}`);
    if (flag === "-q") assert.match(stderr, /refused quit/);
  }
});

Deno.test("emd: --port-file that cannot be written stops emd (exit 1)", async () => {
  const path = "/nonexistent-dir/emd.port";
  const result = await runTool([
    "emd",
    "--port-file",
    path,
    "--free-port",
    "t",
  ]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stdout.replace(/:\d+\n$/, ":PORT\n"),
    "listening on 127.0.0.1:PORT\n",
  );
  assert.match(
    result.stderr,
    /emd: Cannot write port file "\/nonexistent-dir\/emd\.port": No such file or directory\n/,
  );
});

Deno.test("emd: --port-file writes the bound port once emd listens (a FIFO a script reads)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = `${dir}/emd.port`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success, "mkfifo failed");
    await using emd = spawnTool([
      "emd",
      "-q",
      "--port-file",
      fifo,
      "--free-port",
      "pf",
    ]);
    const port = Number((await Deno.readTextFile(fifo)).trim()); // blocks until emd writes it
    assert.ok(port >= 1 && port <= 65535, `port ${port}`);
    const quit = await runTool(["emquit", "127.0.0.1", String(port), "pf"]);
    assert.equal(quit.code, 0, quit.stderr);
    const { code, stdout, stderr } = await emd.result;
    assert.deepEqual({ code, stdout, stderr }, {
      code: 0,
      stdout: `listening on 127.0.0.1:${port}\n`,
      stderr: "",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
