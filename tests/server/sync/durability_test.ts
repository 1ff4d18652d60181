// The sqlite store's promise under a real crash: a writer process SIGKILLed mid-load loses no
// change it had acknowledged (printed after the store call returned).
import assert from "node:assert/strict";
import { tempDir } from "../../_helpers/data_dir.ts";
import {
  type LeaseRecord,
  memoryStore,
  openSqliteStore,
  type SyncStore,
} from "../../../server/sync/store.ts";
import { apply, change } from "./_fixtures/store_writer.ts";

const WRITER = new URL("./_fixtures/store_writer.ts", import.meta.url);
const decoder = new TextDecoder();

interface State {
  readonly latches: string[];
  readonly leases: LeaseRecord[];
}

const stateOf = (store: SyncStore): State => ({
  latches: store.loadLatches(),
  leases: store.loadLeases(),
});

/** Runs the writer on DIR, SIGKILLs it once `killAfter` changes are acknowledged; returns their count. */
async function writeThenKill(dir: string, killAfter: number): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-read", "--allow-write", WRITER.href, dir],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let text = "";
  let acked = 0;
  let killed = false;
  for await (const chunk of child.stdout) {
    text += decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    text = lines.pop()!;
    acked += lines.filter((line) => line !== "open").length;
    if (!killed && acked >= killAfter) {
      child.kill("SIGKILL");
      killed = true;
    }
  }
  const status = await child.status;
  assert.equal(
    status.signal,
    "SIGKILL",
    `writer ended on its own: ${await stderr}`,
  );
  await stderr;
  return acked; // lines read after the kill were acknowledged before it, so they count
}

Deno.test("sqlite store: kill -9 mid-load loses no acknowledged change", async () => {
  using tmp = tempDir("em_durability_");
  const dir = tmp.path;
  {
    let before: State = { latches: [], leases: [] };
    for (const killAfter of [1, 60 + Math.floor(Math.random() * 400), 500]) {
      const acked = await writeThenKill(dir, killAfter);
      assert.ok(
        acked >= killAfter,
        `only ${acked} of ${killAfter} acknowledged`,
      );
      const model = memoryStore(); // the reference: the state before, then every acked change
      before.latches.forEach((name) => model.setLatch(name));
      before.leases.forEach((lease) => model.putLease(lease));
      for (let i = 0; i < acked; i++) apply(model, change(i));
      const acknowledged = stateOf(model);
      apply(model, change(acked)); // the change in flight may have landed, unacknowledged
      const withInFlight = stateOf(model);
      const store = openSqliteStore(dir);
      const after = stateOf(store);
      store.close();
      assert.ok(
        isDeepEqual(after, acknowledged) || isDeepEqual(after, withInFlight),
        `after ${acked} acknowledged changes the store holds ${
          JSON.stringify(after).slice(0, 400)
        }…, expected ${JSON.stringify(acknowledged).slice(0, 400)}…`,
      );
      before = after;
    }
  }
});

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
