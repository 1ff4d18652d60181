/**
 * The sync store's benchmark: durable changes per second (a latch set then cleared, a lease put
 * then deleted) through memoryStore, openSqliteStore (WAL, synchronous=FULL: one fsync per change)
 * and, for comparison only, the same statements under synchronous=NORMAL (what FULL costs).
 * Run alone with `deno run -A bench/store_bench.ts`; writes bench/results/store.json.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { memoryStore, openSqliteStore, type SyncStore } from "../mod.ts";

/** Changes per second of one store kind. */
export interface StoreFigure {
  readonly store: string;
  readonly changes: number;
  readonly changesPerSecond: number;
  readonly microsecondsPerChange: number;
}

/** What {@link runStoreBench} measured. */
export interface StoreBenchResult {
  readonly name: "store";
  readonly figures: readonly StoreFigure[];
}

/** `changes` changes (half sets or puts, half clears or deletes), timed. */
function measure(
  label: string,
  store: SyncStore,
  changes: number,
): StoreFigure {
  const start = performance.now();
  for (let i = 0; i < changes / 4; i++) {
    store.setLatch(`latch_${i}`);
    store.putLease({
      name: "pool",
      token: `token_${i}`,
      permits: 4,
      count: 1,
      expiresAtMs: Date.now() + 60_000,
    });
    store.clearLatch(`latch_${i}`);
    store.deleteLease(`token_${i}`);
  }
  const seconds = (performance.now() - start) / 1000;
  store.close();
  return {
    store: label,
    changes,
    changesPerSecond: Math.round(changes / seconds),
    microsecondsPerChange: Math.round(seconds * 1e6 / changes),
  };
}

/** The same four statements on a bare database with synchronous=NORMAL, as a SyncStore. */
function normalSyncStore(dir: string): SyncStore {
  const db = new DatabaseSync(join(dir, "normal.db"));
  db.exec(`PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    CREATE TABLE latches (name TEXT PRIMARY KEY NOT NULL);
    CREATE TABLE leases (token TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
      permits INTEGER NOT NULL, count INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL);`);
  const set = db.prepare("INSERT OR IGNORE INTO latches (name) VALUES (?)");
  const clear = db.prepare("DELETE FROM latches WHERE name = ?");
  const put = db.prepare(
    "INSERT OR REPLACE INTO leases VALUES (?, ?, ?, ?, ?)",
  );
  const del = db.prepare("DELETE FROM leases WHERE token = ?");
  return {
    loadLatches: () => [],
    loadLeases: () => [],
    setLatch: (name) => void set.run(name),
    clearLatch: (name) => void clear.run(name),
    putLease: (l) =>
      void put.run(l.token, l.name, l.permits, l.count, l.expiresAtMs),
    deleteLease: (token) => void del.run(token),
    close: () => db.close(),
  };
}

/**
 * Measures each store kind in a temporary directory on the same disk as the system's temp dir.
 * @param changes changes per store kind
 */
export function runStoreBench(changes = 4_000): StoreBenchResult {
  const dir = Deno.makeTempDirSync({ prefix: "em_store_bench_" });
  try {
    return {
      name: "store",
      figures: [
        measure("memory", memoryStore(), changes * 10),
        measure("sqlite FULL (emd --data)", openSqliteStore(dir), changes),
        measure("sqlite NORMAL (not used)", normalSyncStore(dir), changes),
      ],
    };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const result = runStoreBench();
  // deno-lint-ignore no-console
  console.table(result.figures);
  const results = new URL("./results/", import.meta.url);
  await Deno.mkdir(results, { recursive: true });
  await Deno.writeTextFile(
    new URL("store.json", results),
    JSON.stringify(result, null, 2) + "\n",
  );
}
