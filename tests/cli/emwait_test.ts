// emwait's several-events form and --ready-file, through real processes. A script learns that the
// waiter is subscribed from the ready file (a FIFO read here, so nothing polls or sleeps) and then
// triggers exactly once.
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, startServer } from "../../mod.ts";
import { runTool, spawnTool } from "../_helpers/cli.ts";
import { mkfifo, POSIX, tempDir, untilFile } from "../_helpers/sync_cli.ts";

/** Reads the FIFO at `path` to its end: blocks until a writer opens and closes it. */
function readFifo(path: string): Promise<string> {
  return Deno.readTextFile(path);
}

/** Sends one plain trigger and waits for the server to have processed it. */
async function trigger(port: number, name: string): Promise<void> {
  await using client = await connect({ port });
  await client.trigger(name);
  await client.flush();
}

Deno.test({
  name:
    "emwait: --ready-file (a FIFO) says when one plain trigger is enough; several names print the one that fired",
  ignore: !POSIX,
  async fn() {
    await using server = await startServer({ port: 0, name: "t" });
    await using dir = await tempDir();
    const fifo = join(dir.path, "ready");
    await mkfifo(fifo);
    const port = String(server.addr.port);
    await using waiter = spawnTool([
      "emwait",
      "--ready-file",
      fifo,
      "127.0.0.1",
      port,
      "build_done,build_failed",
      "60000",
    ]);
    const ready = await readFifo(fifo);
    assert.equal(ready, `${waiter.child.pid}\n`);
    await trigger(server.addr.port, "build_failed");
    assert.deepEqual(await waiter.result, {
      code: 0,
      stdout: "build_failed\n",
      stderr: "",
    });
  },
});

Deno.test({
  name: "emwait: a FIFO ready file is closed empty when emwait cannot connect",
  ignore: !POSIX,
  async fn() {
    await using dir = await tempDir();
    const fifo = join(dir.path, "ready");
    await mkfifo(fifo);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = String(listener.addr.port);
    listener.close();
    await using waiter = spawnTool([
      "emwait",
      "--ready-file",
      fifo,
      "127.0.0.1",
      port,
      "ev",
      "60000",
    ]);
    assert.equal(await readFifo(fifo), ""); // the reader sees an end, not a ready line
    const result = await waiter.result;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^emwait: Cannot connect to .+\n$/);
  },
});

Deno.test("emwait: one name prints nothing as in EM 1.1, --print prints it", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using dir = await tempDir();
  const port = String(server.addr.port);
  const plain = join(dir.path, "plain"), printing = join(dir.path, "printing");
  await using quiet = spawnTool(
    ["emwait", "--ready-file", plain, "127.0.0.1", port, "ev", "60000"],
  );
  await using loud = spawnTool(
    [
      "emwait",
      "--print",
      "--ready-file",
      printing,
      "127.0.0.1",
      port,
      "ev",
      "60000",
    ],
  );
  await untilFile(plain);
  await untilFile(printing);
  await trigger(server.addr.port, "ev");
  assert.deepEqual(await quiet.result, { code: 0, stdout: "", stderr: "" });
  assert.deepEqual(await loud.result, { code: 0, stdout: "ev\n", stderr: "" });
  assert.equal(await Deno.readTextFile(plain), `${quiet.child.pid}\n`);
});

Deno.test("emwait: several names time out with timeout and exit 2; a bad name in the list is a usage error", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const port = String(server.addr.port);
  const timedOut = await runTool(["emwait", "127.0.0.1", port, "a,b", "50"]);
  assert.deepEqual(timedOut, { code: 2, stdout: "timeout\n", stderr: "" });
  const bad = await runTool(["emwait", "127.0.0.1", port, "a,,b", "50"]);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /^emwait: invalid event name "": use /);
});

Deno.test("emwait: an unwritable ready file is one stderr line and exit 1", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using dir = await tempDir();
  const path = join(dir.path, "missing", "ready");
  const result = await runTool([
    "emwait",
    "--ready-file",
    path,
    "127.0.0.1",
    String(server.addr.port),
    "ev",
    "60000",
  ]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.match(
    result.stderr,
    new RegExp(`^emwait: Cannot write ready file ".+ready": .+\n$`),
  );
});
