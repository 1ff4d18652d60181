// emd --log-format: json writes one JSON object per line (LogTape's JSON Lines formatter) with the
// properties the text line carries; text stays the default and never colours.
import assert from "node:assert/strict";
import { runTool, startEmd } from "../_helpers/cli.ts";
import { RawPeer } from "../_helpers/wire.ts";

Deno.test("emd --log-format json: a limit hit is one JSON object with peer, limit, value, reason", async () => {
  await using emd = await startEmd("t", [
    "--log-format",
    "json",
    "--hello-timeout-ms",
    "50",
  ]);
  await using peer = await RawPeer.connect(emd.port);
  await peer.untilClosed();
  await emd.waitForLog("helloTimeoutMs");
  const lines = emd.stderr().trimEnd().split("\n");
  const records = lines.map((line) => JSON.parse(line)); // every line is JSON
  const hit = records.find((record) => record.limit === "helloTimeoutMs");
  assert.ok(hit, emd.stderr());
  assert.equal(hit.level, "WARN");
  assert.equal(hit.logger, "em.server.connection");
  assert.equal(hit.peer, peer.name);
  assert.equal(hit.value, 50);
  assert.equal(hit.reason, "No hello in time (helloTimeoutMs 50)");
  assert.match(hit.message, /^Closed "127\.0\.0\.1:\d+": "No hello in time/);
  assert.ok(!Number.isNaN(Date.parse(hit["@timestamp"])));
  const listening = records.find((record) => record.port === emd.port);
  assert.equal(listening?.level, "INFO");
  assert.equal(listening?.name, "t");
});

Deno.test("emd: text logs by default, without colour even where colour is forced", async () => {
  await using emd = await startEmd("t", ["--hello-timeout-ms", "50"], [], {
    env: { FORCE_COLOR: "1" },
  });
  await using peer = await RawPeer.connect(emd.port);
  await peer.untilClosed();
  const line =
    `emd WARNING Closed ${peer.name}: No hello in time (helloTimeoutMs 50)`;
  await emd.waitForLog(line);
  assert.ok(!emd.stderr().includes("\x1b["), "no ANSI escapes");
});

Deno.test("emd --log-format: another format is a usage error", async () => {
  const { code, stderr } = await runTool([
    "emd",
    "--log-format",
    "xml",
    "--free-port",
    "t",
  ]);
  assert.equal(code, 64);
  assert.equal(
    stderr.split("\n")[0],
    'emd: invalid --log-format "xml": use text or json',
  );
});
