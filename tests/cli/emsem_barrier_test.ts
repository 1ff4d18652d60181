// emsem and embarrier through real processes: at most `permits` commands at once, a different
// permit count is refused; 50 embarrier processes pass one barrier together; a timed-out arrival
// is withdrawn.
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer } from "../../mod.ts";
import { runTool, spawnTool, type ToolProcess } from "../_helpers/cli.ts";
import {
  NOOP,
  OK,
  POSIX,
  tempDir,
  TIMEOUT,
  untilFile,
  within,
} from "../_helpers/sync_cli.ts";

Deno.test({
  name:
    "emsem: two permits run two commands at once, the third waits for one to end",
  ignore: !POSIX,
  async fn() {
    await using server = await startServer({ port: 0, name: "t" });
    await using dir = await tempDir();
    const at = ["127.0.0.1", String(server.addr.port)];
    const ready = (who: string) => join(dir.path, `ready_${who}`);
    const hold = (who: string) =>
      spawnTool([
        "emsem",
        "--ready-file",
        ready(who),
        ...at,
        "pool",
        "2",
        "--",
        "cat", // lives until the test ends its input
      ], { holdStdin: true });
    await using first = hold("A");
    await using second = hold("B");
    await untilFile(ready("A"));
    await untilFile(ready("B"));
    await using third = spawnTool(
      ["emsem", "--ready-file", ready("C"), ...at, "pool", "2", "--", "true"],
    );
    await untilFile(ready("C"));
    assert.equal(third.exited, false);
    // another size is refused at once, and changes nothing
    const other = await runTool(
      ["emsem", "--timeout", "0", ...at, "pool", "3", "--", "true"],
    );
    assert.equal(other.code, 1);
    assert.match(other.stderr, /^emsem: .*"pool" has 2 permits, not 3\n$/);
    const mutex = await runTool(
      ["emlock", "--timeout", "0", ...at, "pool", "--", "true"],
    );
    assert.equal(mutex.code, 1);
    await second.endInput();
    assert.deepEqual(await second.result, OK);
    assert.deepEqual(
      await within(third.result, 10_000, "the third after a release"),
      OK,
    );
    assert.equal(first.exited, false);
  },
});

Deno.test("emsem: a lease of a permit, then release by token", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const at = ["127.0.0.1", String(server.addr.port)];
  const lease = await runTool(
    ["emsem", "--acquire", "--ttl", "600000", ...at, "db", "1"],
  );
  assert.equal(lease.code, 0, lease.stderr);
  assert.deepEqual(
    await runTool([
      "emsem",
      "--timeout",
      "50",
      ...at,
      "db",
      "1",
      "--",
      ...NOOP,
    ]),
    TIMEOUT,
  );
  assert.deepEqual(
    await runTool(["emsem", "--release", ...at, "db", lease.stdout.trim()]),
    OK,
  );
  assert.deepEqual(
    await runTool(["emsem", "--timeout", "0", ...at, "db", "1", "--", ...NOOP]),
    OK,
  );
});

/** Processes on the barrier: enough to show many parties, few enough for a 2-core machine. */
const PARTIES = 50;

Deno.test(`embarrier: ${PARTIES} processes pass one barrier together, none before the last`, async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using dir = await tempDir();
  const at = ["127.0.0.1", String(server.addr.port)];
  const parties: ToolProcess[] = [];
  try {
    for (let i = 0; i < PARTIES - 1; i++) {
      const ready = join(dir.path, `ready_${i}`);
      parties.push(spawnTool(
        ["embarrier", "--ready-file", ready, ...at, "go", String(PARTIES)],
      ));
    }
    for (let i = 0; i < PARTIES - 1; i++) {
      await untilFile(join(dir.path, `ready_${i}`), 120_000);
    }
    assert.equal(parties.filter((party) => party.exited).length, 0);
    parties.push(spawnTool(["embarrier", ...at, "go", String(PARTIES)]));
    const results = await within(
      Promise.all(parties.map((party) => party.result)),
      120_000,
      `${PARTIES} parties`,
    );
    assert.deepEqual(results, Array(PARTIES).fill(OK));
  } finally {
    for (const party of parties) await party[Symbol.asyncDispose]();
  }
});

Deno.test("embarrier: a timeout prints timeout, exits 2 and withdraws the arrival", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const at = ["127.0.0.1", String(server.addr.port)];
  assert.deepEqual(
    await runTool(["embarrier", ...at, "b", "2", "50"]),
    TIMEOUT,
  );
  // had the first arrival stayed, this one would make two and pass
  assert.deepEqual(
    await runTool(["embarrier", ...at, "b", "2", "50"]),
    TIMEOUT,
  );
  assert.deepEqual(await runTool(["embarrier", ...at, "one", "1"]), OK);
  const bad = await runTool(["embarrier", ...at, "b", "0"]);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /^embarrier: invalid parties "0"/);
});
