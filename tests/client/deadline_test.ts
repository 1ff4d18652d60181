// client/_deadline.ts's timers: startTimer keeps the process alive until it fires; startUnrefTimer,
// the one-shot client's, fires once after its time unless cancelled while pending I/O keeps the
// process alive, and does not keep it alive itself. The one-shot client uses neither setTimeout
// nor AbortSignal.timeout with an event listener: their first use costs a fresh process 1 to 9 ms
// (docs/PERFORMANCE.md, "One-shot start-up, third session").
import assert from "node:assert/strict";
import { startUnrefTimer } from "../../client/_deadline.ts";
import { connectOneShot } from "../../client/one_shot.ts";
import { startEmd } from "../_helpers/cli.ts";

/** Runs `body` while a pending accept keeps the process alive, as a socket read does in use. */
async function whilePendingIo(body: () => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = listener.accept().then((conn) => conn.close(), () => {});
  try {
    await body();
  } finally {
    listener.close();
    await accepting;
  }
}

/** Resolves once an unref timer of `ms` has fired. */
function fired(ms: number): Promise<void> {
  return new Promise((resolve) => startUnrefTimer(ms, resolve));
}

Deno.test("startUnrefTimer: fires once, not before its time", async () => {
  await whilePendingIo(async () => {
    let count = 0;
    const started = performance.now();
    await new Promise<void>((resolve) =>
      startUnrefTimer(30, () => {
        count++;
        resolve();
      })
    );
    assert.ok(performance.now() - started >= 29, "fired early");
    await fired(40); // a later timer has fired: the first did not fire again
    assert.equal(count, 1);
  });
});

Deno.test("startUnrefTimer: a cancelled timer never fires", async () => {
  await whilePendingIo(async () => {
    let count = 0;
    const cancel = startUnrefTimer(20, () => count++);
    cancel();
    cancel(); // twice is harmless
    startUnrefTimer(0, () => count++)(); // the 0 ms form too
    await fired(60);
    assert.equal(count, 0);
  });
});

Deno.test("startUnrefTimer: 0 ms fires on a later turn, not at once", async () => {
  let count = 0;
  const done = new Promise<void>((resolve) =>
    startUnrefTimer(0, () => {
      count++;
      resolve();
    })
  );
  await Promise.resolve();
  assert.equal(count, 0);
  await done;
  assert.equal(count, 1);
});

/** What `deno eval` of `code` printed, with startTimer and startUnrefTimer imported. */
async function evalPrints(code: string): Promise<string> {
  const url = new URL("../../client/_deadline.ts", import.meta.url).href;
  const { code: exit, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { startTimer, startUnrefTimer } from "${url}"; ${code}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(exit, 0);
  return new TextDecoder().decode(stdout);
}

Deno.test("startUnrefTimer does not keep the process alive; startTimer does", async () => {
  const unref = evalPrints(
    `startUnrefTimer(60_000, () => console.log("fired")); console.log("armed");`,
  );
  const kept = evalPrints(
    `startTimer(50, () => console.log("fired")); console.log("armed");`,
  );
  assert.equal(await unref, "armed\n"); // did not wait a minute
  assert.equal(await kept, "armed\nfired\n");
});

Deno.test("one-shot client: connect, trigger, flush, wait and close use no setTimeout, AbortSignal.timeout or event listener", async () => {
  await using emd = await startEmd("timers"); // its own process: only the clients run here
  const used: string[] = [];
  const originals = {
    setTimeout: globalThis.setTimeout,
    timeout: AbortSignal.timeout,
    addEventListener: EventTarget.prototype.addEventListener,
  };
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    used.push("setTimeout");
    return originals.setTimeout(...args);
  }) as typeof setTimeout;
  AbortSignal.timeout = (ms: number) => {
    used.push("AbortSignal.timeout");
    return originals.timeout.call(AbortSignal, ms);
  };
  EventTarget.prototype.addEventListener = function (
    this: EventTarget,
    ...args: Parameters<EventTarget["addEventListener"]>
  ) {
    used.push(`addEventListener ${args[0]}`);
    return originals.addEventListener.apply(this, args);
  };
  const options = {
    hostname: "127.0.0.1",
    port: emd.port,
    connectTimeoutMs: 5_000,
  };
  const trigger = async (name: string) => { // emtrigger's part
    await using client = await connectOneShot(options);
    await client.trigger(name);
    await client.flush({ timeoutMs: 5_000 });
  };
  try {
    await trigger("x");
    // emwait's part: a wait with a time limit, woken, then the graceful close
    await using waiter = await connectOneShot({ ...options, receive: true });
    const woken = waiter.waitAny(["wake"], 60_000, {
      onReady: () => void trigger("wake"),
    });
    assert.equal(await woken, "wake");
  } finally {
    globalThis.setTimeout = originals.setTimeout;
    AbortSignal.timeout = originals.timeout;
    EventTarget.prototype.addEventListener = originals.addEventListener;
  }
  assert.deepEqual(used, []);
});
