// emd's limit flags as a process: each reaches startServer, and a bad value is a usage error.
import assert from "node:assert/strict";
import { LIMIT_FLAGS, spec } from "../../cli/emd.ts";
import { DEFAULT_SERVER_LIMITS } from "../../server/limits.ts";
import {
  connectMany,
  lowNofileDeno,
  runTool,
  startEmd,
} from "../_helpers/cli.ts";
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
      ["--max-calls-in-flight", "0", "positive"],
      ["--max-messages-per-second", "1.5", "non-negative"],
      ["--stall-allowance-bytes", "32MiB", "non-negative"],
      ["--stall-budget-bytes", "0x10", "non-negative"],
    ]
  ) {
    const { code, stderr } = await runTool([
      "emd",
      flag!,
      value!,
      "--free-port",
      "srv",
    ]);
    assert.equal(code, 64, `${flag} ${value}`);
    assert.match(
      stderr,
      new RegExp(`^emd: invalid ${flag} "${value}": use a ${kind} integer\n`),
    );
  }
});

Deno.test({
  name:
    "emd: out of file descriptors, accept pauses with one log line and recovers",
  ignore: Deno.build.os === "windows", // needs sh and ulimit
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "emd_nofile_" });
    try {
      await using emd = await startEmd("srv", ["-q"], [], {
        executable: await lowNofileDeno(dir), // few descriptors left for connections
      });
      const peers: Deno.TcpConn[] = [];
      try {
        await connectMany(emd.port, 150, peers);
        await emd.waitForLog("Cannot accept: ");
      } finally {
        for (const peer of peers) peer.close();
      }
      await using late = await RawPeer.greeted(emd.port); // served once descriptors are free
      await late.roundTrip();
      const failures = emd.stderr().match(/Cannot accept: /g) ?? [];
      assert.ok(
        failures.length <= 20, // without the pause: thousands a second
        `${failures.length} lines:\n${emd.stderr()}`,
      );
      assert.match(
        emd.stderr(),
        /^emd ERROR Cannot accept: .*; retrying quietly$/m,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("emd: every limit of LimitOptions has a flag, in --help and in the README", async () => {
  assert.deepEqual(
    LIMIT_FLAGS.map(([, option]) => option).sort(),
    Object.keys(DEFAULT_SERVER_LIMITS).sort(),
  );
  const readme = await Deno.readTextFile(
    new URL("../../README.md", import.meta.url),
  );
  const protocol = await Deno.readTextFile(
    new URL("../../docs/PROTOCOL.md", import.meta.url),
  );
  for (const [flag, option] of LIMIT_FLAGS) {
    assert.match(spec.help, new RegExp(`--${flag} N`), flag);
    assert.match(readme, new RegExp(`\`--${flag} N\``), flag);
    assert.match(protocol, new RegExp(`\`${option}\` / \`--${flag}\``), option);
  }
});
