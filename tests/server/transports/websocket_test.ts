// x-afb-ws-json1 over a raw socket that behaves like AGL's C client: calls, the em API, agents'
// events, and a TCP client on the same server.
import assert from "node:assert/strict";
import { startServer } from "../../../server/mod.ts";
import { connect } from "../../../client/mod.ts";
import { openAfb } from "../../_helpers/ws_client.ts";
import { probeAgent } from "../../_helpers/probe_agent.ts";

const probe = () =>
  probeAgent({
    echo: (req) => req.args,
    refuse: (req) => req.fail("no-way", "Refused on purpose"),
  }, () => {});

async function start(options: { secret?: string } = {}) {
  const { agent, ctx } = probe();
  const server = await startServer({
    port: 0,
    name: "t",
    agents: [agent],
    http: { port: 0 },
    ...options,
  });
  return {
    server,
    ctx,
    port: server.addr.port,
    http: server.httpAddr!.port,
    [Symbol.asyncDispose]: () => server.close(),
  };
}

const ok = (response: unknown) => ({
  jtype: "afb-reply",
  request: { status: "success" },
  response,
});
const failed = (status: string, info: string | RegExp) => ({ status, info });

function assertFailure(reply: unknown[], status: string, info: RegExp) {
  assert.equal(reply[0], 4);
  const resp = reply[2] as {
    jtype: string;
    request: { status: string; info: string };
  };
  assert.equal(resp.jtype, "afb-reply");
  assert.equal(resp.request.status, status);
  assert.match(resp.request.info, info);
}

Deno.test("websocket: a verb call is answered [3,ID,afb-reply] with the verb's data", async () => {
  await using s = await start();
  await using client = await openAfb(s.http);
  assert.deepEqual(await client.call("probe/echo", { a: [1, "x,y;z\\"] }), [
    3,
    "c1",
    ok({ a: [1, "x,y;z\\"] }),
  ]);
  assert.deepEqual(await client.call("probe/echo"), [3, "c2", ok(null)]);
  assert.equal(s.server.connectionCount, 1);
});

Deno.test("websocket: failures are [4,ID,…] with em's codes", async () => {
  await using s = await start();
  await using client = await openAfb(s.http);
  assertFailure(
    await client.call("probe/refuse"),
    "no-way",
    /Refused on purpose/,
  );
  assertFailure(await client.call("probe/nope"), "unknown-verb", /probe\/nope/);
  assertFailure(await client.call("nosuch/verb"), "unknown-api", /nosuch/);
  assertFailure(await client.call("noslash"), "bad-request", /noslash/);
  assertFailure(await client.call("em/nope"), "unknown-verb", /em\/nope/);
  void failed;
});

Deno.test("websocket: em/trigger wakes a TCP waiter and reports the receivers", async () => {
  await using s = await start();
  await using waiter = await connect({ port: s.port, receive: true });
  await waiter.flush();
  await using client = await openAfb(s.http);
  const waiting = waiter.wait("build_done", 5_000);
  const reply = await client.call("em/trigger", { event: "build_done" });
  assert.deepEqual(reply, [3, "c1", ok({ receivers: 2 })]); // the TCP waiter and the client itself
  assert.equal(await waiting, true);
});

Deno.test("websocket: em/subscribe gets plain triggers and data events as [5,NAME,afb-event]", async () => {
  await using s = await start();
  await using client = await openAfb(s.http);
  await using sender = await connect({ port: s.port });
  assert.deepEqual(await client.call("em/subscribe", { event: "job.*" }), [
    3,
    "c1",
    ok(null),
  ]);
  assert.deepEqual(await client.call("em/subscribe", { event: "plain" }), [
    3,
    "c2",
    ok(null),
  ]);
  await sender.trigger("other"); // not subscribed: not sent
  await sender.trigger("job_x"); // does not match job.*
  await sender.trigger("plain");
  assert.deepEqual(await client.nextEvent(), [
    5,
    "plain",
    { jtype: "afb-event", event: "plain", data: null },
  ]);
  await sender.trigger("job.done", { ok: true });
  assert.deepEqual(await client.nextEvent(), [
    5,
    "job.done",
    { jtype: "afb-event", event: "job.done", data: { ok: true } },
  ]);
});

Deno.test("websocket: an agent's events reach a WebSocket caller that joined", async () => {
  await using s = await start();
  await using client = await openAfb(s.http);
  assert.deepEqual(await client.call("probe/join", { name: "speed" }), [
    3,
    "c1",
    ok("probe/speed"),
  ]);
  assert.equal(s.ctx().makeEvent("speed").push({ kmh: 42 }), 1);
  assert.deepEqual(await client.nextEvent(), [
    5,
    "probe/speed",
    { jtype: "afb-event", event: "probe/speed", data: { kmh: 42 } },
  ]);
  assert.equal(s.ctx().broadcastEvent("hello", "all"), 1);
  assert.deepEqual(await client.nextEvent(), [
    5,
    "probe/hello",
    { jtype: "afb-event", event: "probe/hello", data: "all" },
  ]);
});

Deno.test("websocket: a WebSocket and a TCP subscriber of the same event both receive it", async () => {
  await using s = await start();
  await using ws = await openAfb(s.http);
  await using tcp = await connect({ port: s.port, receive: true });
  await ws.call("em/subscribe", { event: "tick" });
  const stream = await tcp.subscribe("tick");
  await using sender = await connect({ port: s.port });
  await sender.trigger("tick", 7);
  assert.deepEqual(await ws.nextEvent(), [5, "tick", {
    jtype: "afb-event",
    event: "tick",
    data: 7,
  }]);
  const got = await stream[Symbol.asyncIterator]().next();
  assert.equal((got.value as { data: unknown }).data, 7);
});

Deno.test("websocket: em/wait answers the first event that fires, or a latched one, or times out", async () => {
  await using s = await start();
  await using client = await openAfb(s.http);
  await using sender = await connect({ port: s.port });
  await client.send([2, "w1", "em/wait", {
    events: ["a", "b"],
    timeoutMs: 5000,
  }]);
  await client.call("em/trigger", { event: "x" }); // a round trip: the wait is registered
  await sender.trigger("b");
  assert.deepEqual(await client.nextJson(), [3, "w1", ok({ event: "b" })]);
  await client.call("em/trigger", { event: "gate", latch: true });
  assert.deepEqual(
    await client.call("em/wait", { events: ["gate"], timeoutMs: 5000 }),
    [
      3,
      "c3",
      ok({ event: "gate" }),
    ],
  );
  assertFailure(
    await client.call("em/wait", { events: ["never"], timeoutMs: 50 }),
    "timeout",
    /never/,
  );
  assertFailure(
    await client.call("em/wait", { events: [] }),
    "bad-request",
    /events/,
  );
});
