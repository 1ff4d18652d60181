// Watch everything: `emsub host port '**'` prints every plain trigger and data event, at any depth.
import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import { spawnTool, startEmd } from "../_helpers/cli.ts";

Deno.test("emsub '**': every plain trigger and data event, names at any depth", async () => {
  await using emd = await startEmd("t");
  const port = String(emd.port);
  await using sender = await connect({ port: emd.port });
  await using watch = spawnTool(["emsub", "-c", "3", "127.0.0.1", port, "**"]);
  let tries = 0;
  while ((await sender.trigger("x/y/z", 1)) === 0) { // until emsub has subscribed
    assert.ok(++tries < 10_000, "emsub never subscribed");
  }
  await sender.trigger("build_done");
  assert.equal(await sender.trigger("a/b/c", { deep: true }), 1);
  const { code, stdout, stderr } = await watch.result;
  assert.equal(code, 0, stderr);
  const lines = stdout.trimEnd().split("\n").map((line) => {
    const { name, data } = JSON.parse(line);
    return { name, data };
  });
  assert.deepEqual(lines, [
    { name: "x/y/z", data: 1 },
    { name: "build_done", data: null },
    { name: "a/b/c", data: { deep: true } },
  ]);
});

Deno.test("emsub 'a/*': a single star still stops at a slash", async () => {
  await using emd = await startEmd("t");
  const port = String(emd.port);
  await using sender = await connect({ port: emd.port });
  await using watch = spawnTool(["emsub", "-c", "1", "127.0.0.1", port, "a/*"]);
  let tries = 0;
  while ((await sender.trigger("a/b", 0)) === 0) {
    assert.ok(++tries < 10_000, "emsub never subscribed");
  }
  assert.equal(await sender.trigger("a/b/c", 1), 0); // not delivered: * stops at "/"
  const { code, stdout } = await watch.result;
  assert.equal(code, 0);
  assert.equal(JSON.parse(stdout).name, "a/b");
});
