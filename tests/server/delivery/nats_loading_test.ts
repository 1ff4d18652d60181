/**
 * A single emd and the tools never load NATS: the NATS packages enter through one adapter, which
 * only the NATS bus imports, which only open_bus.ts loads, dynamically, when clustering.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

async function sources(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for await (const entry of Deno.readDir(ROOT + dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      for (const [p, text] of await sources(path)) files.set(p, text);
    } else if (entry.name.endsWith(".ts")) {
      files.set(path, await Deno.readTextFile(ROOT + path));
    }
  }
  return files;
}

Deno.test("delivery: only the adapter imports NATS, only the bus (its latches and holds) import it, only dynamically loaded", async () => {
  const files = new Map([
    ...await sources("server"),
    ...await sources("client"),
    ...await sources("cli"),
    ...await sources("protocol"),
    ["mod.ts", await Deno.readTextFile(ROOT + "mod.ts")],
  ]);
  const users = (pattern: RegExp) =>
    [...files].filter(([, text]) => pattern.test(text)).map(([path]) => path)
      .sort();
  assert.deepEqual(users(/["']npm:@nats-io\//), ["server/delivery/_nats.ts"]);
  assert.deepEqual(users(/from\s+["']\.\/_nats\.ts["']/), [
    "server/delivery/hold_cache.ts",
    "server/delivery/hold_writer.ts",
    "server/delivery/nats_bus.ts",
    "server/delivery/nats_calls.ts",
    "server/delivery/nats_holds.ts",
    "server/delivery/nats_latches.ts",
  ]);
  assert.deepEqual(users(/nats_latches\.ts["']/), [
    "server/delivery/hold_report.ts",
    "server/delivery/nats_bus.ts",
    "server/delivery/nats_holds.ts",
  ]);
  assert.deepEqual(users(/nats_holds\.ts["']/), [
    "server/delivery/nats_bus.ts",
  ]);
  assert.deepEqual(users(/hold_(cache|writer)\.ts["']/), [
    "server/delivery/hold_report.ts",
    "server/delivery/hold_upkeep.ts",
    "server/delivery/hold_waiters.ts",
    "server/delivery/hold_writer.ts",
    "server/delivery/nats_holds.ts",
  ]);
  assert.deepEqual(users(/hold_(upkeep|waiters|report|replies)\.ts["']/), [
    "server/delivery/hold_waiters.ts",
    "server/delivery/nats_holds.ts",
  ]);
  assert.deepEqual(users(/nats_calls\.ts["']/), [
    "server/delivery/nats_bus.ts",
  ]);
  assert.deepEqual(users(/nats_bus\.ts["']/), ["server/delivery/open_bus.ts"]);
  assert.match(
    files.get("server/delivery/open_bus.ts")!,
    /import\("\.\/nats_bus\.ts"\)/,
  );
  for (const path of ["session.ts", "connection.ts", "core_commands.ts"]) {
    assert.doesNotMatch(files.get(`server/${path}`)!, /nats|jetstream/i, path);
  }
});
