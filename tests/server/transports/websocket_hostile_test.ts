// Security rules and hostile input for WebSocket clients: each gets a clear refusal or close, and
// the server goes on serving others.
import assert from "node:assert/strict";
import { startServer } from "../../../server/mod.ts";
import { encodeWsFrame, WS_OPCODES } from "../../../protocol/mod.ts";
import { AfbTestClient, openAfb } from "../../_helpers/ws_client.ts";

const SECRET = "s3cret-for-tests";

async function start(options: Parameters<typeof startServer>[0] | object = {}) {
  const server = await startServer({
    port: 0,
    name: "t",
    http: { port: 0, allowOrigins: ["https://app.example"] },
    ...options,
  });
  return {
    server,
    http: server.httpAddr!.port,
    [Symbol.asyncDispose]: () => server.close(),
  };
}

async function refusal(
  port: number,
  options: Parameters<typeof AfbTestClient.open>[1],
) {
  const result = await AfbTestClient.open(port, options);
  if (result instanceof AfbTestClient) {
    await result[Symbol.asyncDispose]();
    throw new Error("The upgrade was accepted");
  }
  return result;
}

/** A client the server still serves after the hostile one. */
async function stillServes(port: number): Promise<void> {
  await using client = await openAfb(port);
  const reply = await client.call("em/trigger", { event: "alive" });
  assert.equal(reply[0], 3);
}

Deno.test("websocket: an upgrade without x-afb-ws-json1 is refused 400 saying why", async () => {
  await using s = await start();
  const none = await refusal(s.http, { subprotocol: null });
  assert.equal(none.status, 400);
  assert.match(none.text, /subprotocol.*x-afb-ws-json1/);
  const other = await refusal(s.http, { subprotocol: "chat" });
  assert.equal(other.status, 400);
  await stillServes(s.http);
});

Deno.test("websocket: a page of another origin is refused 403; its own origin and listed ones are not", async () => {
  await using s = await start();
  const evil = await refusal(s.http, {
    headers: { Origin: "https://evil.example" },
  });
  assert.equal(evil.status, 403);
  assert.match(evil.text, /evil\.example/);
  await using own = await openAfb(s.http, {
    headers: { Origin: `http://127.0.0.1:${s.http}` },
    masked: true,
  });
  assert.equal((await own.call("em/trigger", { event: "x" }))[0], 3);
  await using listed = await openAfb(s.http, {
    headers: { Origin: "https://app.example" },
    masked: true,
  });
  assert.equal((await listed.call("em/trigger", { event: "x" }))[0], 3);
});

Deno.test("websocket: with a secret, a right token (query, header or fifth element) is needed", async () => {
  await using s = await start({ secret: SECRET });
  const wrong = await refusal(s.http, { path: "/api?token=nope" });
  assert.equal(wrong.status, 401);
  await using byQuery = await openAfb(s.http, {
    path: `/api?x-afb-token=${SECRET}`,
  });
  assert.equal((await byQuery.call("em/trigger", { event: "x" }))[0], 3);
  await using byHeader = await openAfb(s.http, {
    headers: { Authorization: `Bearer ${SECRET}` },
  });
  assert.equal((await byHeader.call("em/trigger", { event: "x" }))[0], 3);
  await using byCall = await openAfb(s.http);
  assert.equal((await byCall.call("em/trigger", { event: "x" }, SECRET))[0], 3);
  assert.equal((await byCall.call("em/trigger", { event: "y" }))[0], 3); // once is enough
});

Deno.test("websocket: with a secret, a call without proof gets one error and the connection closes", async () => {
  await using s = await start({ secret: SECRET });
  await using client = await openAfb(s.http);
  const reply = await client.call("em/trigger", { event: "x" });
  assert.equal(reply[0], 4);
  assert.equal(
    (reply[2] as { request: { status: string } }).request.status,
    "unauthorized",
  );
  const close = await client.closeFrame();
  assert.equal(close.code, 1008);
  await client.ended();
});

Deno.test("websocket: with a secret, a client that never proves it is closed at the hello timeout", async () => {
  await using s = await start({ secret: SECRET, helloTimeoutMs: 100 });
  await using client = await openAfb(s.http);
  const close = await client.closeFrame();
  assert.equal(close.code, 1008);
  assert.match(close.reason, /No hello in time/);
});

const hostile: [
  string,
  (client: AfbTestClient) => Promise<void>,
  number,
  RegExp,
][] = [
  ["non-JSON text", (c) => c.send("hello there"), 1007, /not JSON/],
  [
    "an unknown message code",
    (c) => c.send([9, "x"]),
    1007,
    /unknown message code 9/,
  ],
  [
    "a call without an ID",
    (c) => c.send([2, null, "em/trigger"]),
    1007,
    /without an ID/,
  ],
  [
    "a binary frame",
    (c) => c.sendFrame(WS_OPCODES.BINARY, new Uint8Array([1, 2])),
    1003,
    /binary/,
  ],
  [
    "invalid UTF-8",
    (c) => c.sendFrame(WS_OPCODES.TEXT, new Uint8Array([0xff, 0xfe])),
    1007,
    /UTF-8/,
  ],
  [
    "a continuation without a start",
    (c) => c.sendRaw(new Uint8Array([0x80, 0])),
    1002,
    /continuation/,
  ],
  [
    "reserved bits",
    (c) => c.sendRaw(new Uint8Array([0xc1, 0])),
    1002,
    /reserved/,
  ],
  [
    "an unknown opcode",
    (c) => c.sendRaw(new Uint8Array([0x83, 0])),
    1002,
    /opcode/,
  ],
  [
    "a frame over the message limit",
    (c) => c.sendRaw(new Uint8Array([0x81, 127, 0, 0, 0, 0, 0x10, 0, 0, 0])),
    1009,
    /over 4096 bytes/,
  ],
  [
    "fragments growing past the limit",
    async (c) => {
      await c.sendRaw(encodeFragment(0x01, 3000));
      await c.sendRaw(encodeFragment(0x00, 3000));
    },
    1009,
    /over 4096 bytes/,
  ],
];

function encodeFragment(opcode: number, length: number): Uint8Array {
  const frame = encodeWsFrame(opcode, new Uint8Array(length).fill(0x20));
  frame[0] = frame[0]! & 0x7f; // not final
  return frame;
}

for (const [what, act, code, reason] of hostile) {
  Deno.test(`websocket: ${what} closes that client (${code}) and no other`, async () => {
    await using s = await start({ maxMessageBytes: 4096 });
    await using bystander = await openAfb(s.http);
    await bystander.call("em/subscribe", { event: "still" });
    await using client = await openAfb(s.http);
    await act(client);
    const close = await client.closeFrame();
    assert.equal(close.code, code);
    assert.match(close.reason, reason);
    await client.ended();
    await bystander.call("em/trigger", { event: "still" });
    assert.equal((await bystander.nextEvent())[1], "still");
  });
}

Deno.test("websocket: wrong shapes with an ID are answered bad-request and the client goes on", async () => {
  await using s = await start();
  await using client = await openAfb(s.http);
  await client.send([2, "a", 42]);
  const reply = await client.nextJson();
  assert.equal(reply[0], 4);
  assert.equal(
    (reply[2] as { request: { status: string } }).request.status,
    "bad-request",
  );
  for (
    const args of [{}, { event: "bad name!" }, {
      event: "x",
      latch: true,
      data: 1,
    }]
  ) {
    const answer = await client.call("em/trigger", args);
    assert.equal(
      (answer[2] as { request: { status: string } }).request.status,
      "bad-request",
    );
  }
  assert.equal((await client.call("em/trigger", { event: "fine" }))[0], 3);
});

Deno.test("websocket: a client-sent event and a client-sent reply are ignored (logged), nothing else happens", async () => {
  await using s = await start();
  await using watcher = await openAfb(s.http);
  await watcher.call("em/subscribe", { event: "**" });
  await using client = await openAfb(s.http);
  await client.send([5, "spoofed", {
    jtype: "afb-event",
    event: "spoofed",
    data: 1,
  }]);
  await client.send([3, "nobody", {}]);
  assert.equal((await client.call("em/trigger", { event: "real" }))[0], 3);
  assert.equal((await watcher.nextEvent())[1], "real"); // not "spoofed"
});

Deno.test("websocket: ping is answered with pong; a close frame is answered and the socket closed", async () => {
  await using s = await start();
  await using client = await openAfb(s.http, { masked: true });
  await client.sendFrame(WS_OPCODES.PING, new Uint8Array([7, 8]));
  const pong = await client.next();
  assert.equal(pong.opcode, WS_OPCODES.PONG);
  assert.deepEqual([...pong.payload], [7, 8]);
  await client.sendFrame(WS_OPCODES.CLOSE, new Uint8Array([0x03, 0xe8]));
  assert.equal((await client.closeFrame()).code, 1000);
  await client.ended();
});

Deno.test("websocket: a client that never reads is cut off at maxQueuedBytes; others go on", async () => {
  await using s = await start({ maxQueuedBytes: 64 * 1024 });
  await using stalled = await openAfb(s.http, { reading: false });
  await stalled.send([2, "s", "em/subscribe", { event: "flood" }]);
  await using reader = await openAfb(s.http);
  await reader.call("em/subscribe", { event: "nothing" }); // the stalled one's call went first
  const payload = "x".repeat(30_000);
  for (let i = 0; i < 2000 && s.server.connectionCount > 1; i++) {
    await reader.call("em/trigger", { event: "flood", data: payload });
    await new Promise((resolve) => setTimeout(resolve, 0)); // let the cut-off's close run
  }
  assert.equal(s.server.connectionCount, 1);
  assert.equal((await reader.call("em/trigger", { event: "ok" }))[0], 3);
});

Deno.test("websocket: past maxConnections an upgrade is closed saying why", async () => {
  await using s = await start({ maxConnections: 1 });
  await using first = await openAfb(s.http);
  assert.equal((await first.call("em/trigger", { event: "x" }))[0], 3);
  const second = await AfbTestClient.open(s.http);
  if (second instanceof AfbTestClient) {
    await using client = second;
    const close = await client.closeFrame();
    assert.equal(close.code, 1008);
    assert.match(close.reason, /Too many connections/);
  } else {
    assert.equal(second.status, 503);
  }
});

Deno.test("websocket: a client over maxMessagesPerSecond is closed (1008) saying why", async () => {
  await using s = await start({ maxMessagesPerSecond: 10, messageBurst: 20 });
  await using client = await openAfb(s.http);
  const calls = Array.from(
    { length: 60 },
    (_, i) => [2, `m${i}`, "em/trigger", { event: "x" }],
  );
  for (const call of calls) await client.send(call).catch(() => {});
  const close = await client.closeFrame();
  assert.equal(close.code, 1008);
  assert.match(close.reason, /Too many messages/);
  await stillServes(s.http);
});
