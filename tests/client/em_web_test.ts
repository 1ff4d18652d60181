// The browser client (client/web/em_web.ts, served as /em.js) used from Deno, whose WebSocket
// behaves like a browser's: masked frames, a real handshake.
import assert from "node:assert/strict";
import { defineAgent, startServer } from "../../server/mod.ts";
import { connect as connectTcp } from "../../client/mod.ts";
import {
  connect,
  EmCallError,
  EmClosedError,
} from "../../client/web/em_web.ts";

async function start(options: { secret?: string } = {}) {
  const agent = defineAgent({
    api: "speed",
    verbs: {
      get: () => ({ kmh: 50 }),
      watch: (req, ctx) => req.subscribe(ctx.makeEvent("value")),
      bump: (req, ctx) =>
        ctx.makeEvent("value").push({ kmh: req.args as number }),
    },
  });
  const server = await startServer({
    port: 0,
    name: "t",
    agents: [agent],
    http: { port: 0 },
    ...options,
  });
  return {
    server,
    url: `ws://127.0.0.1:${server.httpAddr!.port}/api`,
    [Symbol.asyncDispose]: () => server.close(),
  };
}

Deno.test("em.js: call, agent events, subscribe, trigger and wait from Deno", async () => {
  await using s = await start();
  const em = await connect(s.url);
  try {
    assert.deepEqual(await em.call("speed/get"), { kmh: 50 });
    await em.call("speed/watch");
    const values = em.events("speed/*")[Symbol.asyncIterator]();
    await em.call("speed/bump", 70);
    assert.deepEqual((await values.next()).value, {
      event: "speed/value",
      data: { kmh: 70 },
    });
    await values.return?.();
    const ticks = em.subscribe("tick")[Symbol.asyncIterator]();
    const first = ticks.next(); // subscribes
    await em.call("speed/get"); // a round trip: the subscription is in place
    await using tcp = await connectTcp({ port: s.server.addr.port });
    await tcp.trigger("tick", 1);
    assert.deepEqual((await first).value, { event: "tick", data: 1 });
    await ticks.return?.();
    assert.equal(await em.trigger("nobody"), 1); // itself, as a receiver
    const waiting = em.wait(["a", "b"], { timeoutMs: 5000 });
    await em.trigger("b");
    assert.equal(await waiting, "b");
    assert.equal(await em.trigger("door", undefined, { latch: true }), null);
    assert.equal(await em.wait("door"), "door");
  } finally {
    em.close();
    await em.closed;
  }
});

Deno.test("em.js: failures are EmCallError with em's status; abort rejects with the reason", async () => {
  await using s = await start();
  const em = await connect(s.url);
  try {
    await assert.rejects(em.call("speed/nope"), (error) => {
      assert.ok(error instanceof EmCallError);
      assert.equal(error.status, "unknown-verb");
      return true;
    });
    await assert.rejects(em.wait("never", { timeoutMs: 20 }), {
      status: "timeout",
    });
    const controller = new AbortController();
    const waiting = em.wait("never", { signal: controller.signal });
    controller.abort(new Error("stop waiting"));
    await assert.rejects(waiting, { message: "stop waiting" });
  } finally {
    em.close();
    await em.closed;
  }
});

Deno.test("em.js: with a secret, the token opens the connection; without it calls fail and it closes", async () => {
  await using s = await start({ secret: "web-secret" });
  const em = await connect(s.url, { token: "web-secret" });
  assert.deepEqual(await em.call("speed/get"), { kmh: 50 });
  em.close();
  await em.closed;
  const anonymous = await connect(s.url);
  await assert.rejects(anonymous.call("speed/get"), { status: "unauthorized" });
  const closed = await anonymous.closed;
  assert.ok(closed instanceof EmClosedError);
  assert.equal(closed.code, 1008);
});
