import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import { runTool, startEmd } from "../_helpers/cli.ts";

const example = (name: string) =>
  fileURLToPath(new URL(`../../examples/${name}.ts`, import.meta.url));
const fixture = (name: string) =>
  fileURLToPath(new URL(`./_fixtures/${name}.ts`, import.meta.url));

Deno.test("emd --agent: a module that throws at load stops emd at start", async () => {
  const result = await runTool([
    "emd",
    "-q",
    "--agent",
    fixture("throws_at_load"),
    "--free-port",
    "t",
  ]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^emd: Cannot load agent ".*throws_at_load\.ts": broken at load\n$/,
  );
  assert.equal(result.stdout, "");
});

Deno.test("emd --agent: a missing module or a duplicate API name stops emd at start", async () => {
  const missing = await runTool([
    "emd",
    "-q",
    "--agent",
    "./no_such_agent.ts",
    "--free-port",
    "t",
  ]);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /^emd: Cannot load agent "\.\/no_such_agent\.ts": /,
  );
  const speed = example("speed");
  const twice = await runTool([
    "emd",
    "-q",
    "--agent",
    speed,
    "--agent",
    speed,
    "--free-port",
    "t",
  ]);
  assert.deepEqual(twice, {
    code: 1,
    stdout: "",
    stderr: 'emd: Duplicate agent API name "speed"\n',
  });
});

Deno.test("emcall: prints the reply; failures exit 1 and emd survives them", async () => {
  await using emd = await startEmd("t", ["-q", "--agent", example("speed")]);
  const port = String(emd.port);
  const stats = await runTool(["emcall", "127.0.0.1", port, "speed/stats"]);
  assert.deepEqual(stats, { code: 0, stdout: '{"streams":[]}\n', stderr: "" });
  const throwing = await runTool([
    "emcall",
    "127.0.0.1",
    port,
    "speed/get",
    '{"unit":"knots"}',
  ]);
  assert.deepEqual(throwing, {
    code: 1,
    stdout: "",
    stderr: 'emcall: failed: Unknown unit "knots": use "kmh" or "mph"\n',
  });
  const unknown = await runTool(["emcall", "127.0.0.1", port, "speed/nope"]);
  assert.deepEqual(unknown, {
    code: 1,
    stdout: "",
    stderr: 'emcall: unknown-verb: No verb "speed/nope"\n',
  });
  const notReceiving = await runTool([
    "emcall",
    "127.0.0.1",
    port,
    "speed/subscribe",
    '{"unit":"kmh"}',
  ]);
  assert.equal(notReceiving.code, 1);
  assert.match(
    notReceiving.stderr,
    /^emcall: cannot-receive: Cannot subscribe /,
  );
  const badJson = await runTool([
    "emcall",
    "127.0.0.1",
    port,
    "speed/get",
    "{",
  ]);
  assert.equal(badJson.code, 64);
  const get = await runTool([
    "emcall",
    "127.0.0.1",
    port,
    "speed/get",
    '{"unit":"mph"}',
  ]);
  assert.equal(get.code, 0);
  assert.equal(JSON.parse(get.stdout).unit, "mph");
});

Deno.test("emsub: -c N exits after N events of an agent's stream", async () => {
  await using emd = await startEmd("t", ["-q", "--agent", example("speed")]);
  const result = await runTool([
    "emsub",
    "-c",
    "2",
    "-W",
    "20000",
    "--call",
    "speed/subscribe",
    "--args",
    '{"unit":"kmh","hz":50}',
    "127.0.0.1",
    String(emd.port),
    "speed/kmh-*",
  ]);
  assert.equal(result.stderr, "");
  assert.equal(result.code, 0);
  const lines = result.stdout.trimEnd().split("\n").map((line) =>
    JSON.parse(line)
  );
  assert.deepEqual(lines.map((line) => line.name), [
    "speed/kmh-50Hz",
    "speed/kmh-50Hz",
  ]);
  assert.deepEqual(lines.map((line) => line.data.seq), [1, 2]);
  assert.match(lines[0].time, /^\d{4}-\d\d-\d\dT/);
});

Deno.test("emsub: -W exits 2 when no event comes in time", async () => {
  await using emd = await startEmd("t", ["-q"]);
  const result = await runTool([
    "emsub",
    "-W",
    "150",
    "127.0.0.1",
    String(emd.port),
    "none/*",
  ]);
  assert.deepEqual(result, {
    code: 2,
    stdout: "",
    stderr: "emsub: timeout after 150 ms\n",
  });
});

Deno.test("emtrigger --data: delivers JSON and prints the receivers; emsub prints it", async () => {
  await using emd = await startEmd("t", ["-q"]);
  const port = String(emd.port);
  const sub = runTool([
    "emsub",
    "-c",
    "1",
    "-W",
    "20000",
    "127.0.0.1",
    port,
    "door/*",
  ]);
  await using probe = await connect({ port: emd.port });
  let receivers = 0;
  const deadline = Date.now() + 20_000; // emsub's start-up takes long on a busy machine
  while (receivers === 0 && Date.now() < deadline) { // until emsub has subscribed
    receivers = await probe.trigger("door/probe", null);
  }
  assert.equal(receivers, 1, "emsub never subscribed");
  const printed = await sub;
  assert.equal(printed.code, 0);
  assert.deepEqual(JSON.parse(printed.stdout).data, null);
  await using watcher = await connect({ port: emd.port, receive: true });
  const events = watcher.subscribe("door/front-open");
  await events.ready;
  const sent = await runTool([
    "emtrigger",
    "--data",
    '{"open":true}',
    "127.0.0.1",
    port,
    "door/front-open",
  ]);
  assert.deepEqual(sent, { code: 0, stdout: "1\n", stderr: "" });
  const got = await events[Symbol.asyncIterator]().next();
  assert.deepEqual(got.value, {
    name: "door/front-open",
    data: { open: true },
  });
  const bad = await runTool([
    "emtrigger",
    "--data",
    "{",
    "127.0.0.1",
    port,
    "x",
  ]);
  assert.equal(bad.code, 64);
});
