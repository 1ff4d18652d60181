// emd/watch with `waits`: a confirmed wait (`o` to a `w`) is told to the watcher at once, so a
// trigger sent on seeing it reaches the waiter (bench/oneshot.ts wakes emwait so); latched,
// refused and unasked-for waits are not told.
import assert from "node:assert/strict";
import { startServer } from "../../../server/mod.ts";
import {
  EventTap,
  type TappedWait,
} from "../../../server/metrics/event_tap.ts";
import { RawPeer } from "../../_helpers/wire.ts";

const WATCH_WAITS = '{"events":false,"stats":false,"waits":true}';
const WATCH_NOTHING = '{"events":false,"stats":false}';

/** A raw 1.2 receiving connection that has called emd/watch with `args` (escaped JSON). */
async function watcher(port: number, args: string): Promise<RawPeer> {
  const peer = await RawPeer.greeted(port, "H1.2");
  await peer.send(`F1\nc1,emd/watch,${escape(args)}\n`);
  for (;;) { // the call is answered with the report
    const line = await peer.readLine();
    assert.notEqual(line, null);
    if (line!.startsWith("r1,")) return peer;
  }
}

/** A raw 1.2 connection, receiving or not. */
async function peer(port: number, receive: boolean): Promise<RawPeer> {
  const raw = await RawPeer.greeted(port, "H1.2");
  if (receive) await raw.send("F1\n");
  return raw;
}

/** The `emd/waits` events among `lines`, decoded. */
function waitsIn(lines: string[]): TappedWait[] {
  return lines.filter((line) => line.startsWith("demd/waits,"))
    .map((line) => JSON.parse(unescape(line.slice("demd/waits,".length))));
}

function escape(json: string): string {
  return json.replace(/[,;\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);
}

function unescape(text: string): string {
  return text.replace(
    /\\x([0-9a-fA-F]{2})/g,
    (_, hex) => String.fromCharCode(parseInt(hex, 16)),
  );
}

Deno.test("emd/watch waits: a latched, a refused and an unasked-for wait are not told", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const { port } = server.addr;
  await using asking = await watcher(port, WATCH_WAITS);
  await using silent = await watcher(port, WATCH_NOTHING);
  await using latcher = await peer(port, false);
  await latcher.send("l1,done\n");
  assert.equal(await latcher.readLine(), "o1");
  await using finds = await peer(port, true);
  await finds.send("w1,other,done\n");
  assert.equal(await finds.readLine(), "y1,done"); // latched: nothing to wait for
  await using deaf = await peer(port, false);
  await deaf.send("w1,go\n");
  assert.match((await deaf.readLine())!, /^erefused,.*,1$/); // cannot receive: refused
  assert.deepEqual(waitsIn(await asking.roundTrip()), []);
  await using waiter = await peer(port, true);
  await waiter.send("w7,go\n");
  assert.equal(await waiter.readLine(), "o7");
  assert.deepEqual(waitsIn(await silent.roundTrip()), []); // did not ask for waits
  const told = waitsIn(await asking.roundTrip());
  assert.deepEqual(told.map(({ names, peer }) => ({ names, peer })), [
    { names: ["go"], peer: waiter.name },
  ]);
});

Deno.test("emd/watch waits: a confirmed wait is told at once; a trigger sent then wakes the waiter", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const { port } = server.addr;
  await using asking = await watcher(port, WATCH_WAITS);
  await using waiter = await peer(port, true);
  const before = Date.now();
  await waiter.send("w1,build_done,build_failed\n");
  let wait: TappedWait | undefined;
  while (wait === undefined) { // no round trip: the event comes by itself
    const line = await asking.readLine();
    assert.notEqual(line, null);
    wait = waitsIn([line!])[0];
  }
  assert.deepEqual(wait.names, ["build_done", "build_failed"]);
  assert.equal(wait.peer, waiter.name);
  assert.ok(wait.atMs >= before - 1000 && wait.atMs <= Date.now() + 1000);
  await asking.send("Tbuild_failed\n");
  assert.equal(await waiter.readLine(), "o1"); // the wait's answer came first
  assert.equal(await waiter.readLine(), "Tbuild_failed");
});

Deno.test("event tap waits: told synchronously while listened to, not after disposal", () => {
  const tap = new EventTap();
  assert.equal(tap.watchingWaits, false);
  const told: TappedWait[] = [];
  const listening = tap.listenWaits((wait) => told.push(wait));
  assert.equal(tap.watchingWaits, true);
  assert.equal(tap.active, false); // no batch timer for waits
  tap.waited(["a"], "p:1");
  assert.deepEqual(told.map(({ names, peer }) => ({ names, peer })), [
    { names: ["a"], peer: "p:1" },
  ]);
  listening[Symbol.dispose]();
  assert.equal(tap.watchingWaits, false);
  tap.waited(["b"], "p:2");
  assert.equal(told.length, 1);
});
