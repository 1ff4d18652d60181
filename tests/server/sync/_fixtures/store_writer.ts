/**
 * A process that changes a sync store as fast as it can, printing one line per change once the
 * store call has returned (an acknowledgement). The durability tests SIGKILL it mid-load.
 *
 * ```sh
 * deno run -A store_writer.ts DIR    # runs until killed
 * ```
 * @module
 */
import {
  type LeaseRecord,
  openSqliteStore,
  type SyncStore,
} from "../../../../server/sync/store.ts";

/** One change to a store. */
export type Change =
  | { readonly op: "setLatch"; readonly name: string }
  | { readonly op: "clearLatch"; readonly name: string }
  | { readonly op: "putLease"; readonly lease: LeaseRecord }
  | { readonly op: "deleteLease"; readonly token: string };

/** The i-th change of the fixed sequence: sets, clears, puts, renewals and deletes interleaved. */
export function change(i: number): Change {
  const lease = (n: number, expiresAtMs: number): LeaseRecord => ({
    name: `lock_${n % 7}`,
    token: `token_${n}`,
    permits: 3,
    count: 1 + (n % 3),
    expiresAtMs,
  });
  switch (i % 5) {
    case 0:
      return { op: "setLatch", name: `latch_${i}` };
    case 1:
      return { op: "clearLatch", name: `latch_${i - 11}` }; // sometimes set, sometimes not
    case 2:
      return { op: "putLease", lease: lease(i, 1_000 + i) };
    case 3:
      return { op: "putLease", lease: lease(i - 6, 2_000 + i) }; // a renewal of an earlier lease
    default:
      return { op: "deleteLease", token: `token_${i - 12}` };
  }
}

/** Applies a change to a store (the reference model is a memory store). */
export function apply(store: SyncStore, c: Change): void {
  if (c.op === "setLatch") store.setLatch(c.name);
  else if (c.op === "clearLatch") store.clearLatch(c.name);
  else if (c.op === "putLease") store.putLease(c.lease);
  else store.deleteLease(c.token);
}

if (import.meta.main) {
  const store = openSqliteStore(Deno.args[0]!);
  const encoder = new TextEncoder();
  Deno.stdout.writeSync(encoder.encode("open\n"));
  for (let i = 0; i < 1_000_000; i++) { // bounded; the test kills it long before
    apply(store, change(i));
    Deno.stdout.writeSync(encoder.encode(`${i}\n`)); // acknowledged: durable from here on
  }
  store.close();
}
