// emd's limit flags as a process: each reaches startServer, and a bad value is a usage error.
import assert from "node:assert/strict";
import { runTool, startEmd } from "../_helpers/cli.ts";
import { RawPeer } from "../_helpers/wire.ts";

Deno.test("emd: --max-connections refuses one connection too many", async () => {
  await using emd = await startEmd("srv", [
    "--max-connections",
    "1",
    "--hello-timeout-ms",
    "60000",
    "--max-messages-per-second",
    "0",
  ]);
  await using first = await RawPeer.greeted(emd.port);
  await first.roundTrip();
  await using second = await RawPeer.connect(emd.port);
  assert.deepEqual(await second.untilClosed(), [
    "elimit,Too many connections",
  ]);
  await emd.waitForLog(
    `Closed ${second.name}: Too many connections (maxConnections 1)`,
  );
});

Deno.test("emd: --hello-timeout-ms closes a silent peer", async () => {
  await using emd = await startEmd("srv", ["--hello-timeout-ms", "100"]);
  await using silent = await RawPeer.connect(emd.port);
  assert.match((await silent.readLine())!, /^H1\.2/);
  assert.deepEqual(await silent.untilClosed(), ["elimit,No hello in time"]);
  await emd.waitForLog(
    /emd WARNING Closed [^ ]+: No hello in time \(helloTimeoutMs 100\)/,
  );
});

Deno.test("emd: a bad limit value is a usage error", async () => {
  for (
    const [flag, value, kind] of [
      ["--max-connections", "0", "positive"],
      ["--message-burst", "1e3", "positive"],
      ["--max-subscriptions", "lots", "positive"],
      ["--max-messages-per-second", "1.5", "non-negative"],
    ]
  ) {
    const { code, stderr } = await runTool(["emd", flag!, value!, "0", "srv"]);
    assert.equal(code, 64, `${flag} ${value}`);
    assert.match(
      stderr,
      new RegExp(`^emd: invalid ${flag} "${value}": use a ${kind} integer\n`),
    );
  }
});
