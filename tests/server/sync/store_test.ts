import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { EmError } from "../../../protocol/mod.ts";
import {
  DATABASE_FILE,
  type LeaseRecord,
  memoryStore,
  openSqliteStore,
  SCHEMA_VERSION,
  type SyncStore,
} from "../../../server/sync/store.ts";
import {
  tempDir,
  unwritableDirectory,
  unwritableUnsupported,
} from "../../_helpers/data_dir.ts";
import { isEmError } from "../../_helpers/em_error.ts";

const UNWRITABLE_UNSUPPORTED = await unwritableUnsupported();

const lease = (overrides: Partial<LeaseRecord> = {}): LeaseRecord => ({
  name: "deploy",
  token: "t1",
  permits: 1,
  count: 1,
  expiresAtMs: 1_900_000_000_000,
  ...overrides,
});

function assertStorageError(action: () => unknown, message: RegExp): void {
  assert.throws(action, isEmError("storage", message));
}

/** Each store kind, opened fresh; the callback may reopen it (sqlite: same DIR). */
const KINDS: ReadonlyArray<
  readonly [string, (test: (open: () => SyncStore) => void) => void]
> = [
  ["memory", (test) => {
    const store = memoryStore();
    test(() => store);
  }],
  ["sqlite", (test) => {
    using dir = tempDir();
    test(() => openSqliteStore(dir.path));
  }],
];

for (const [kind, withStore] of KINDS) {
  Deno.test(`${kind} store: bad leases are refused and store nothing`, () => {
    withStore((open) => {
      const store = open();
      assert.throws(() => store.putLease(lease({ token: "" })), TypeError);
      assert.throws(
        () => store.putLease(lease({ name: 3 as unknown as string })),
        TypeError,
      );
      assert.throws(() => store.putLease(lease({ permits: 0 })), RangeError);
      assert.throws(
        () => store.putLease(lease({ permits: 2, count: 3 })),
        RangeError,
      );
      assert.throws(() => store.putLease(lease({ count: 0 })), RangeError);
      assert.throws(() => store.putLease(lease({ count: 1.5 })), RangeError);
      assert.throws(
        () => store.putLease(lease({ expiresAtMs: Number.NaN })),
        RangeError,
      );
      assert.deepEqual(store.loadLeases(), []);
      store.close();
    });
  });

  Deno.test(`${kind} store: a closed store refuses every call`, () => {
    withStore((open) => {
      const store = open();
      store.close();
      store.close(); // idempotent
      for (
        const call of [
          () => store.loadLatches(),
          () => store.setLatch("a"),
          () => store.clearLatch("a"),
          () => store.loadLeases(),
          () => store.putLease(lease()),
          () => store.deleteLease("t1"),
        ]
      ) {
        assert.throws(call, (error: unknown) => {
          assert.ok(error instanceof EmError);
          assert.equal(error.code, "closed");
          return true;
        });
      }
    });
  });

  Deno.test(`${kind} store: latches round-trip in the order set; repeats change nothing`, () => {
    withStore((open) => {
      const store = open();
      assert.deepEqual(store.loadLatches(), []);
      store.setLatch("b");
      store.setLatch("a");
      store.setLatch("b");
      store.clearLatch("never_set");
      assert.deepEqual(store.loadLatches(), ["b", "a"]);
      store.clearLatch("b");
      store.setLatch("c");
      store.setLatch("b");
      assert.deepEqual(store.loadLatches(), ["a", "c", "b"]);
      store.close();
    });
  });

  Deno.test(`${kind} store: leases round-trip, a put with a known token replaces it`, () => {
    withStore((open) => {
      const store = open();
      const mutex = lease();
      const sem = lease({ name: "pool", token: "t2", permits: 5, count: 3 });
      store.putLease(mutex);
      store.putLease(sem);
      store.putLease({ ...mutex, expiresAtMs: mutex.expiresAtMs + 60_000 });
      store.deleteLease("unknown");
      assert.deepEqual(store.loadLeases(), [
        { ...mutex, expiresAtMs: mutex.expiresAtMs + 60_000 },
        sem,
      ]);
      store.deleteLease("t1");
      assert.deepEqual(store.loadLeases(), [sem]);
      store.close();
    });
  });

  Deno.test(`${kind} store: loaded records are copies`, () => {
    withStore((open) => {
      const store = open();
      store.putLease(lease());
      store.setLatch("a");
      (store.loadLatches() as string[]).push("b");
      const [loaded] = store.loadLeases();
      (loaded as { count: number }).count = 99;
      assert.deepEqual(store.loadLatches(), ["a"]);
      assert.deepEqual(store.loadLeases(), [lease()]);
      store.close();
    });
  });
}

Deno.test("sqlite store: reopening after close keeps everything", () => {
  using dir = tempDir();
  const first = openSqliteStore(dir.path);
  first.setLatch("built");
  first.setLatch("cleared");
  first.clearLatch("cleared");
  first.putLease(lease());
  first.putLease(lease({ token: "t2", name: "pool", permits: 3, count: 2 }));
  first.deleteLease("t1");
  first.close();
  const second = openSqliteStore(dir.path);
  assert.deepEqual(second.loadLatches(), ["built"]);
  assert.deepEqual(second.loadLeases(), [
    lease({ token: "t2", name: "pool", permits: 3, count: 2 }),
  ]);
  second.close();
});

Deno.test("sqlite store: a missing DIR is created, parents included", () => {
  using dir = tempDir();
  const nested = join(dir.path, "a", "b");
  const store = openSqliteStore(nested);
  store.setLatch("x");
  store.close();
  assert.ok(Deno.statSync(join(nested, DATABASE_FILE)).isFile);
});

Deno.test("sqlite store: a DIR that is a file is refused", () => {
  using dir = tempDir();
  const file = join(dir.path, "plain");
  Deno.writeTextFileSync(file, "x");
  assertStorageError(
    () => openSqliteStore(file),
    /^Cannot open data directory ".*plain": not a directory$/,
  );
  assertStorageError(
    () => openSqliteStore(join(file, "below")),
    /^Cannot open data directory ".*plain\/below": Not a directory/,
  );
});

Deno.test("sqlite store: a second open of one DIR fails while the first holds it", () => {
  using dir = tempDir();
  const first = openSqliteStore(dir.path);
  first.setLatch("mine");
  assertStorageError(
    () => openSqliteStore(dir.path),
    /^Cannot open data directory ".*": another process \(another emd\?\) is using it: database is locked$/,
  );
  first.setLatch("still_mine"); // the failed open disturbed nothing
  first.close();
  const again = openSqliteStore(dir.path);
  assert.deepEqual(again.loadLatches(), ["mine", "still_mine"]);
  again.close();
});

Deno.test("sqlite store: a corrupt database file is refused, not replaced", () => {
  using dir = tempDir();
  const path = join(dir.path, DATABASE_FILE);
  const garbage = "this is not a database\n".repeat(500);
  Deno.writeTextFileSync(path, garbage);
  assertStorageError(
    () => openSqliteStore(dir.path),
    /^Cannot open data directory ".*": ".*emd\.db" is corrupt or not an em database: file is not a database\. Move it away to start with no state$/,
  );
  assert.equal(Deno.readTextFileSync(path), garbage);
});

Deno.test("sqlite store: a damaged page of a real database is refused", () => {
  using dir = tempDir();
  const store = openSqliteStore(dir.path);
  for (let i = 0; i < 400; i++) store.setLatch(`latch_${i}`);
  store.close();
  const path = join(dir.path, DATABASE_FILE);
  const bytes = Deno.readFileSync(path);
  assert.ok(bytes.length >= 3 * 4096, `database only ${bytes.length} bytes`);
  bytes.fill(0xa5, 4096 + 8, 2 * 4096); // the body of page 2, keeping its header byte
  Deno.writeFileSync(path, bytes);
  assertStorageError(
    () => openSqliteStore(dir.path),
    /^Cannot open data directory ".*": ".*emd\.db" is corrupt or not an em database: database disk image is malformed \(.+\)\. Move it away to start with no state$/,
  );
});

Deno.test("sqlite store: a database whose tables are not em's is refused", () => {
  using dir = tempDir();
  openSqliteStore(dir.path).close();
  const db = new DatabaseSync(join(dir.path, DATABASE_FILE));
  db.exec("DROP TABLE latches");
  db.close();
  assertStorageError(
    () => openSqliteStore(dir.path),
    /^Cannot open data directory ".*": ".*emd\.db" is corrupt or not an em database: no such table: latches\. Move it away to start with no state$/,
  );
});

Deno.test("sqlite store: a database from a newer em is refused", () => {
  using dir = tempDir();
  openSqliteStore(dir.path).close();
  const db = new DatabaseSync(join(dir.path, DATABASE_FILE));
  db.prepare("UPDATE em_schema SET version = ?").run(SCHEMA_VERSION + 1);
  db.close();
  assertStorageError(
    () => openSqliteStore(dir.path),
    new RegExp(
      `^Cannot open data directory ".*": its database has schema version ${
        SCHEMA_VERSION + 1
      }, newer than this em reads \\(${SCHEMA_VERSION}\\): use a newer em$`,
    ),
  );
});

Deno.test({
  name: "sqlite store: an unwritable DIR is refused",
  ignore: UNWRITABLE_UNSUPPORTED !== undefined, // the reason is in UNWRITABLE_UNSUPPORTED
  async fn() {
    await using dir = await unwritableDirectory();
    assert.ok(dir !== undefined, UNWRITABLE_UNSUPPORTED);
    assertStorageError(
      () => openSqliteStore(dir.path),
      /^Cannot open data directory ".*": cannot write there: /,
    );
    assertStorageError(
      () => openSqliteStore(join(dir.path, "sub")),
      /^Cannot create data directory ".*\/sub": /,
    );
  },
});
