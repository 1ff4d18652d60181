// emd --data DIR as a real process: it opens the store at start, keeps it across kill -9, closes it
// on a clean stop, and refuses to start on a DIR it cannot use (never starting empty instead).
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTool, startEmd } from "../_helpers/cli.ts";
import {
  tempDir,
  unwritableDirectory,
  unwritableUnsupported,
} from "../_helpers/data_dir.ts";
import {
  DATABASE_FILE,
  type LeaseRecord,
  openSqliteStore,
} from "../../server/sync/store.ts";

const UNWRITABLE_UNSUPPORTED = await unwritableUnsupported();

const LEASE: LeaseRecord = {
  name: "deploy",
  token: "abc",
  permits: 1,
  count: 1,
  expiresAtMs: 4_000_000_000_000,
};

/** emd's whole output for a start that must fail before it listens. */
async function failedStart(dir: string): Promise<string> {
  const { code, stdout, stderr } = await runTool([
    "emd",
    "--data",
    dir,
    "--free-port",
    "t",
  ]);
  assert.equal(code, 1, `emd exited ${code}: ${stderr}`);
  assert.equal(stdout, "", "emd listened although its data directory failed");
  return stderr;
}

Deno.test("emd --data: a corrupt database stops emd at start, exit 1", async () => {
  using dir = tempDir();
  const path = join(dir.path, DATABASE_FILE);
  Deno.writeTextFileSync(path, "not sqlite\n".repeat(1000));
  assert.equal(
    await failedStart(dir.path),
    `emd: Cannot open data directory "${dir.path}": "${path}" is corrupt or not an em database: file is not a database. Move it away to start with no state\n`,
  );
  assert.equal(Deno.readTextFileSync(path), "not sqlite\n".repeat(1000));
});

Deno.test("emd --data: a DIR that is a file stops emd at start, exit 1", async () => {
  using dir = tempDir();
  const file = join(dir.path, "file");
  Deno.writeTextFileSync(file, "");
  assert.equal(
    await failedStart(file),
    `emd: Cannot open data directory "${file}": not a directory\n`,
  );
});

Deno.test({
  name: "emd --data: an unwritable DIR stops emd at start, exit 1",
  ignore: UNWRITABLE_UNSUPPORTED !== undefined, // the reason is in UNWRITABLE_UNSUPPORTED
  async fn() {
    await using dir = await unwritableDirectory();
    assert.ok(dir !== undefined, UNWRITABLE_UNSUPPORTED);
    assert.equal(
      await failedStart(dir.path),
      `emd: Cannot open data directory "${dir.path}": cannot write there: unable to open database file: ${
        join(dir.path, DATABASE_FILE)
      }\n`,
    );
  },
});

Deno.test("emd --data: a second emd on the same DIR stops at start, the first goes on", async () => {
  using dir = tempDir();
  await using first = await startEmd("t", ["--data", dir.path]);
  assert.equal(
    await failedStart(dir.path),
    `emd: Cannot open data directory "${dir.path}": another process (another emd?) is using it: database is locked\n`,
  );
  first.child.kill("SIGTERM");
  assert.equal((await first.exited()).code, 0);
});

Deno.test("emd --data: kill -9 keeps latches and leases; a clean stop closes the database", async () => {
  using dir = tempDir();
  const seed = openSqliteStore(dir.path);
  seed.setLatch("built");
  seed.putLease(LEASE);
  seed.close();
  {
    await using emd = await startEmd("t", ["--data", dir.path]);
    emd.child.kill("SIGKILL");
    assert.equal((await emd.exited()).code, 137);
  }
  {
    await using emd = await startEmd("t", ["--data", dir.path]); // restart on the same DIR
    emd.child.kill("SIGTERM");
    assert.equal((await emd.exited()).code, 0);
  }
  // closed: the WAL is checkpointed into emd.db and removed, and the lock is free at once
  assert.throws(() => Deno.statSync(join(dir.path, `${DATABASE_FILE}-wal`)));
  const store = openSqliteStore(dir.path);
  assert.deepEqual(store.loadLatches(), ["built"]);
  assert.deepEqual(store.loadLeases(), [LEASE]);
  store.close();
});
