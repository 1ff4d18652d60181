// kill -9 of `emd --data DIR` in the middle of a stream of latch and lease changes made through the
// library, then a restart on DIR: every change the client saw acknowledged is there.
import assert from "node:assert/strict";
import { tempDir } from "../_helpers/data_dir.ts";
import { connect, type EmClient } from "../../client/mod.ts";
import { openSqliteStore } from "../../server/sync/store.ts";
import { startEmd } from "../_helpers/cli.ts";

/** What the client believes after its acknowledged changes. */
interface Model {
  readonly latched: Set<string>; // names whose last acknowledged change was a latch
  readonly reset: Set<string>; // names whose last acknowledged change was a reset
  readonly leases: Map<string, string>; // token → lock name, acknowledged and not released
}

/** The change in flight when emd died: what it may or may not have done. */
type InFlight = { latch: string } | { lease: string } | { token: string };

const TTL_MS = 600_000;

/** Makes change `i` and records it in the model once acknowledged; returns what it touches. */
function change(client: EmClient, model: Model, i: number) {
  const tokens = [...model.leases.keys()];
  const token = tokens[i % Math.max(1, tokens.length)];
  const latch = (name: string) => ({
    touches: { latch: name },
    run: () => client.trigger(name, { latch: true }),
    ack: () => (model.latched.add(name), model.reset.delete(name)),
  });
  switch (i % 6) {
    case 0:
      return latch(`latch_${i}`);
    case 1:
      return latch(`latch_${Math.max(0, i - 7)}`); // again: latching is idempotent
    case 2: {
      const name = `latch_${Math.max(0, i - 8)}`;
      return {
        touches: { latch: name },
        run: () => client.reset(name),
        ack: () => (model.reset.add(name), model.latched.delete(name)),
      };
    }
    case 3:
    case 4: {
      const name = `res/${i}`;
      let granted = "";
      return {
        touches: { lease: name },
        run: async () => {
          granted = (await client.lock(name, { ttlMs: TTL_MS })).token;
        },
        ack: () => model.leases.set(granted, name),
      };
    }
    default: {
      if (token === undefined) return latch(`latch_${i}`);
      const name = model.leases.get(token)!;
      const release = i % 12 === 5;
      return {
        touches: { token },
        run: () =>
          release
            ? client.releaseLease(name, token)
            : client.renewLease(name, token, TTL_MS),
        ack: () => release && model.leases.delete(token),
      };
    }
  }
}

/** Changes as fast as acknowledgements come; SIGKILLs emd right after sending change `killAt`. */
async function loadThenKill(dir: string, killAt: number) {
  const model: Model = {
    latched: new Set(),
    reset: new Set(),
    leases: new Map(),
  };
  const emd = await startEmd("t", ["--data", dir]);
  const client = await connect({ port: emd.port });
  let inFlight: InFlight | undefined;
  try {
    for (let i = 0; i <= killAt; i++) {
      const { touches, run, ack } = change(client, model, i);
      const done = run();
      if (i === killAt) {
        emd.child.kill("SIGKILL");
        inFlight = touches;
        if (await done.then(() => true, () => false)) { // answered before it died
          inFlight = undefined;
          ack();
        }
      } else {
        await done;
        ack();
      }
    }
  } finally {
    await client[Symbol.asyncDispose]();
    await emd[Symbol.asyncDispose]();
  }
  assert.equal((await emd.exited()).code, 137);
  return { model, inFlight };
}

Deno.test("emd --data: kill -9 mid-load loses no acknowledged latch or lease", async () => {
  using dir = tempDir("em_emd_load_");
  const killAt = 60 + Math.floor(Math.random() * 240);
  const { model, inFlight } = await loadThenKill(dir.path, killAt);
  assertKept(dir.path, model, inFlight);
  await restartServes(dir.path, model, inFlight);
});

/** The database holds every acknowledged change; only the change in flight may go either way. */
function assertKept(dir: string, model: Model, inFlight?: InFlight): void {
  const store = openSqliteStore(dir); // emd is dead: the file is what a restart reads
  const latches = new Set(store.loadLatches());
  const leases = new Map(store.loadLeases().map((l) => [l.token, l.name]));
  store.close();
  const unsure = (key: "latch" | "lease" | "token", value: string) =>
    inFlight !== undefined && key in inFlight &&
    (inFlight as Record<string, string>)[key] === value;
  for (const name of model.latched) {
    assert.ok(unsure("latch", name) || latches.has(name), `latch ${name} lost`);
  }
  for (const name of model.reset) {
    assert.ok(
      unsure("latch", name) || !latches.has(name),
      `reset of ${name} lost`,
    );
  }
  for (const [token, name] of model.leases) {
    if (unsure("token", token)) continue; // a release in flight
    assert.equal(leases.get(token), name, `lease ${token} of ${name} lost`);
  }
  const extra = [...leases].filter(([token, name]) =>
    !model.leases.has(token) && !unsure("lease", name) // an unanswered lock's lease may be there
  );
  assert.deepEqual(extra, [], "released leases came back");
}

/**
 * A restarted emd on DIR answers from the stored state: latched waits return, leases release. The
 * names it asks about are ones the change in flight did not touch: a reset of the oldest latch may
 * have been done without its answer reaching the client.
 */
async function restartServes(
  dir: string,
  model: Model,
  inFlight?: InFlight,
): Promise<void> {
  await using emd = await startEmd("t", ["--data", dir]);
  await using client = await connect({ port: emd.port, receive: true });
  const touched = inFlight && Object.values(inFlight)[0];
  const latched = [...model.latched].find((name) => name !== touched);
  assert.ok(latched !== undefined);
  assert.equal(await client.waitAny([latched], 10_000), latched);
  const lease = [...model.leases].find(([token, name]) =>
    token !== touched && name !== touched
  );
  assert.ok(lease !== undefined);
  await client.releaseLease(lease[1], lease[0]); // known after the restart
  await assert.rejects(
    client.releaseLease(lease[1], lease[0]),
    /neither a hold/,
  );
}
