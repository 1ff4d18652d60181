import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import { EmError } from "../../protocol/mod.ts";

/** One lease as stored: a hold of `count` permits of the semaphore `name` until `expiresAtMs`. */
export interface LeaseRecord {
  /** The mutex or semaphore the lease holds. */
  readonly name: string;
  /** The lease's token: its identity (a renewal replaces the record with this token). */
  readonly token: string;
  /** The semaphore's size: 1 for a mutex. */
  readonly permits: number;
  /** Permits this lease holds, 1 to `permits`. */
  readonly count: number;
  /** When the lease ends unless renewed, in milliseconds since the epoch. */
  readonly expiresAtMs: number;
}

/**
 * Where emd keeps the sync state that outlives connections: latched events and leases. Every
 * method is synchronous and the change is durable once it returns, so the server acknowledges a
 * change only after the call. Holds bound to a connection and waiters are never stored.
 */
export interface SyncStore {
  /**
   * The latched events, in the order they were set.
   * @throws {EmError} code "closed" after close, "storage" when the database cannot be read
   */
  loadLatches(): string[];
  /**
   * Records the event `name` as latched; setting a latched event again changes nothing.
   * @throws {EmError} code "closed" after close, "storage" when the change cannot be written
   */
  setLatch(name: string): void;
  /**
   * Clears the latch of `name`; clearing an event that is not latched changes nothing.
   * @throws {EmError} code "closed" after close, "storage" when the change cannot be written
   */
  clearLatch(name: string): void;
  /**
   * Every stored lease, expired ones included (the caller drops those), in the order first put.
   * @throws {EmError} code "closed" after close, "storage" when the database cannot be read
   */
  loadLeases(): LeaseRecord[];
  /**
   * Inserts a lease, or replaces the one with the same token (a renewal).
   * @throws {TypeError} for a field of the wrong type
   * @throws {RangeError} for permits or count out of range
   * @throws {EmError} code "closed" after close, "storage" when the change cannot be written
   */
  putLease(lease: LeaseRecord): void;
  /**
   * Removes the lease with this token; an unknown token changes nothing.
   * @throws {EmError} code "closed" after close, "storage" when the change cannot be written
   */
  deleteLease(token: string): void;
  /** Releases the store (and its database and lock). Idempotent; other calls then throw. */
  close(): void;
}

/** Checks a lease's fields before it is stored: code bugs surface at the call, not on reload. */
function checkLease(lease: LeaseRecord): void {
  for (const key of ["name", "token"] as const) {
    if (typeof lease[key] !== "string" || lease[key] === "") {
      throw new TypeError(
        `Invalid lease ${key} "${lease[key]}": use a non-empty string`,
      );
    }
  }
  const { permits, count, expiresAtMs } = lease;
  if (!Number.isSafeInteger(permits) || permits < 1) {
    throw new RangeError(
      `Invalid lease permits "${permits}": use an integer of 1 or more`,
    );
  }
  if (!Number.isSafeInteger(count) || count < 1 || count > permits) {
    throw new RangeError(
      `Invalid lease count "${count}": use an integer from 1 to ${permits}`,
    );
  }
  if (!Number.isSafeInteger(expiresAtMs)) {
    throw new RangeError(
      `Invalid lease expiresAtMs "${expiresAtMs}": use an integer`,
    );
  }
}

function closedError(): EmError {
  return new EmError("closed", "Cannot use the sync store: it is closed");
}

/**
 * A store in memory: state lasts as long as the process. emd uses it without `--data`.
 * @returns an empty store
 * @example Latch an event and read it back
 * ```ts
 * import { memoryStore } from "../../mod.ts";
 *
 * const store = memoryStore();
 * store.setLatch("build_done");
 * console.log(store.loadLatches()); // ["build_done"]
 * store.close();
 * ```
 */
export function memoryStore(): SyncStore {
  const latches = new Set<string>();
  const leases = new Map<string, LeaseRecord>();
  let closed = false;
  const open = () => {
    if (closed) throw closedError();
  };
  return {
    loadLatches: () => (open(), [...latches]),
    setLatch: (name) => void (open(), latches.add(name)),
    clearLatch: (name) => void (open(), latches.delete(name)),
    loadLeases:
      () => (open(), [...leases.values()].map((lease) => ({ ...lease }))),
    putLease(lease) {
      open();
      checkLease(lease);
      const { name, token, permits, count, expiresAtMs } = lease;
      leases.set(token, { name, token, permits, count, expiresAtMs });
    },
    deleteLease: (token) => void (open(), leases.delete(token)),
    close: () => void (closed = true),
  };
}

/** The database file's name inside the data directory (SQLite adds `-wal` beside it). */
export const DATABASE_FILE = "emd.db";
/** The schema this emd writes; a database with a higher version is refused, not guessed at. */
export const SCHEMA_VERSION = 1;
/** How long to wait for another process's lock on the database before failing. */
const BUSY_TIMEOUT_MS = 1_000;

const SCHEMA = `
  CREATE TABLE latches (name TEXT PRIMARY KEY NOT NULL);
  CREATE TABLE leases (
    token TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    permits INTEGER NOT NULL,
    count INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
  );`;

/**
 * A store in an SQLite database `DIR/emd.db` (`node:sqlite`), created with DIR when missing. WAL
 * mode with `synchronous=FULL`: each change is one transaction whose WAL frames are fsynced before
 * the call returns, so an acknowledged change survives `kill -9` and power loss. The connection
 * holds an exclusive lock until {@link SyncStore.close}, so a second emd on DIR fails at start.
 * @param dir the data directory
 * @returns the open store, holding what was stored before
 * @throws {EmError} code "storage" when DIR is not a directory, cannot be created or written, is
 * in use by another process, or holds a corrupt database or one from a newer em
 * @example Keep sync state across restarts of an embedded server
 * ```ts ignore
 * import { openSqliteStore, startServer } from "./mod.ts";
 *
 * const syncStore = openSqliteStore("./em-data");
 * try {
 *   await using server = await startServer({ port: 0, name: "demo", syncStore });
 *   await server.finished;
 * } finally {
 *   syncStore.close();
 * }
 * ```
 */
export function openSqliteStore(dir: string): SyncStore {
  const path = join(dir, DATABASE_FILE);
  prepareDirectory(dir);
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
    // Exclusive before WAL: the lock is never released, and no -shm file is shared.
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    checkIntegrity(db);
    migrate(db);
    return new SqliteStore(db, path);
  } catch (error) {
    db?.close();
    throw openError(dir, path, error);
  }
}

/** Makes sure DIR is a directory, creating it (and its parents) when missing. */
function prepareDirectory(dir: string): void {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw storageError(dir, error);
    }
  }
  if (info !== undefined && !info.isDirectory) {
    throw new EmError(
      "storage",
      `Cannot open data directory "${dir}": not a directory`,
    );
  }
  if (info === undefined) {
    try {
      Deno.mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw new EmError(
        "storage",
        `Cannot create data directory "${dir}": ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}

function storageError(dir: string, error: unknown): EmError {
  return new EmError(
    "storage",
    `Cannot open data directory "${dir}": ${
      (error as Error)?.message ?? error
    }`,
    { cause: error },
  );
}

/** Reads every page once: a damaged file fails now, not on a later change. */
function checkIntegrity(db: DatabaseSync): void {
  const rows = db.prepare("PRAGMA quick_check").all();
  const faults = rows.map((row) => String(Object.values(row)[0]))
    .filter((result) => result !== "ok")
    .flatMap((result) => result.split("\n"))
    .filter((line) => !/^\*\*\* in database/.test(line));
  if (faults.length > 0) {
    throw new Error(
      `database disk image is malformed (${faults.slice(0, 2).join("; ")})`,
    );
  }
}

/** Creates the schema in a new database and refuses one written by a newer em. */
function migrate(db: DatabaseSync): void {
  db.exec("BEGIN IMMEDIATE"); // takes the write lock now: a second emd fails here
  try {
    db.exec("CREATE TABLE IF NOT EXISTS em_schema (version INTEGER NOT NULL)");
    const row = db.prepare("SELECT max(version) AS version FROM em_schema")
      .get();
    const version = row?.version as number | null;
    if (version === null) {
      db.exec(SCHEMA);
      db.prepare("INSERT INTO em_schema (version) VALUES (?)").run(
        SCHEMA_VERSION,
      );
    } else if (version > SCHEMA_VERSION) {
      throw new EmError(
        "storage",
        `its database has schema version ${version}, newer than this em reads (${SCHEMA_VERSION}): use a newer em`,
      );
    }
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** The one stderr-ready message for a failed open, naming what to do when there is something. */
function openError(dir: string, path: string, error: unknown): EmError {
  if (error instanceof EmError && error.code === "storage") {
    return error.message.startsWith("Cannot") ? error : new EmError(
      "storage",
      `Cannot open data directory "${dir}": ${error.message}`,
    );
  }
  const message = (error as Error)?.message ?? String(error);
  let detail = message;
  if (/database is locked|database table is locked/.test(message)) {
    detail = `another process (another emd?) is using it: ${message}`;
  } else if (
    /not a database|malformed|corrupt|no such (table|column)/i.test(message)
  ) {
    detail =
      `"${path}" is corrupt or not an em database: ${message}. Move it away to start with no state`;
  } else if (
    /readonly|read-only|unable to open|permission|access/i.test(message)
  ) {
    detail = `cannot write there: ${message}`;
  }
  return new EmError(
    "storage",
    `Cannot open data directory "${dir}": ${detail}`,
    {
      cause: error,
    },
  );
}

type Statements = Record<
  | "loadLatches"
  | "setLatch"
  | "clearLatch"
  | "loadLeases"
  | "putLease"
  | "deleteLease",
  StatementSync
>;

/** {@link SyncStore} over one SQLite connection with prepared statements. */
class SqliteStore implements SyncStore {
  #db: DatabaseSync | undefined;
  #path: string;
  #statements: Statements;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    this.#statements = {
      loadLatches: db.prepare("SELECT name FROM latches ORDER BY rowid"),
      setLatch: db.prepare("INSERT OR IGNORE INTO latches (name) VALUES (?)"),
      clearLatch: db.prepare("DELETE FROM latches WHERE name = ?"),
      loadLeases: db.prepare(
        "SELECT name, token, permits, count, expires_at_ms FROM leases ORDER BY rowid",
      ),
      putLease: db.prepare(
        `INSERT INTO leases (token, name, permits, count, expires_at_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (token) DO UPDATE SET name = excluded.name, permits = excluded.permits,
           count = excluded.count, expires_at_ms = excluded.expires_at_ms`,
      ),
      deleteLease: db.prepare("DELETE FROM leases WHERE token = ?"),
    };
  }

  loadLatches(): string[] {
    return this.#run(
      "read",
      (s) =>
        s.loadLatches.all().map((row: Record<string, unknown>) =>
          String(row.name)
        ),
    );
  }

  setLatch(name: string): void {
    this.#run("write", (s) => s.setLatch.run(name));
  }

  clearLatch(name: string): void {
    this.#run("write", (s) => s.clearLatch.run(name));
  }

  loadLeases(): LeaseRecord[] {
    return this.#run(
      "read",
      (s) =>
        s.loadLeases.all().map((row: Record<string, unknown>) => ({
          name: String(row.name),
          token: String(row.token),
          permits: Number(row.permits),
          count: Number(row.count),
          expiresAtMs: Number(row.expires_at_ms),
        })),
    );
  }

  putLease(lease: LeaseRecord): void {
    checkLease(lease);
    const { token, name, permits, count, expiresAtMs } = lease;
    this.#run(
      "write",
      (s) => s.putLease.run(token, name, permits, count, expiresAtMs),
    );
  }

  deleteLease(token: string): void {
    this.#run("write", (s) => s.deleteLease.run(token));
  }

  close(): void {
    const db = this.#db;
    this.#db = undefined;
    db?.close(); // checkpoints the WAL into the database file and releases the lock
  }

  #run<T>(
    what: "read" | "write",
    action: (statements: Statements) => T,
  ): T {
    if (this.#db === undefined) throw closedError();
    try {
      return action(this.#statements);
    } catch (error) {
      throw new EmError(
        "storage",
        `Cannot ${what} sync state in "${this.#path}": ${
          (error as Error)?.message ?? error
        }`,
        { cause: error },
      );
    }
  }
}
