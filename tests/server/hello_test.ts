import assert from "node:assert/strict";
import { startServer } from "../../server/mod.ts";
import { captureLogs, literal, RawPeer } from "../_helpers/wire.ts";

/** The server hello: H1.2 and lower-case options (`m<bytes>` from the agents capability). */
const SERVER_HELLO = /^H1\.2(;[a-z][^;]*)*$/;

Deno.test("emd: sends its hello H1.2 on accept, before the client says anything", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await RawPeer.connect(server.addr.port);
  assert.match(String(await peer.readLine()), SERVER_HELLO);
});

for (
  const hello of [
    "H1.1",
    "H1,1",
    "H1.2",
    "H1",
    "H1.1;amy app",
    "H1.1;ifuture,1",
  ]
) {
  Deno.test(`emd: accepts the hello ${JSON.stringify(hello)}`, async () => {
    await using server = await startServer({ port: 0, name: "t" });
    await using peer = await RawPeer.greeted(server.addr.port, hello);
    assert.deepEqual(await peer.roundTrip(), []); // answered: the session is open
  });
}

Deno.test("emd: a 1.1 client that sends its hello first is served", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await RawPeer.connect(server.addr.port);
  await peer.send("H1.1\nF1\r\npx\r");
  assert.match(String(await peer.readLine()), SERVER_HELLO);
  assert.equal(await peer.readLine(), "px");
});

/** [hello, fault in the log] — each closes the connection with one log line. */
const REFUSED: [string, string][] = [
  ["H2.0", "incompatible protocol version 2.0"],
  ["H0,9", "incompatible protocol version 0.9"],
  ["H2", "incompatible protocol version 2.0"],
  ["Tbuild_done", 'expected a hello "H", got "T"'],
  ["F1", 'expected a hello "H", got "F"'],
  ["pabc", 'expected a hello "H", got "p"'],
  ["H", 'bad hello version ""'],
  ["H1.1.1", 'bad hello version "1.1.1"'],
  ["Hx", 'bad hello version "x"'],
  ["H1.1;Xmust", 'unknown option "X" on "H"'],
];

for (const [hello, fault] of REFUSED) {
  Deno.test(`emd: the first message ${JSON.stringify(hello)} closes with a log line`, async () => {
    await using logs = await captureLogs();
    await using server = await startServer({ port: 0, name: "t" });
    await using peer = await RawPeer.greeted(server.addr.port, hello);
    assert.deepEqual(await peer.untilClosed(), []);
    const line = `em WARNING Closed ${peer.name}: Protocol error: ${fault}`;
    assert.deepEqual(logs.matching(new RegExp(literal(peer.name))), [
      `em INFO Accepted ${peer.name}`,
      line,
    ]);
    await using other = await RawPeer.greeted(server.addr.port); // the server goes on
    assert.deepEqual(await other.roundTrip(), []);
  });
}

Deno.test("emd: a second hello is dropped with a log line, the session goes on", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await RawPeer.greeted(server.addr.port);
  await peer.send("H1.1\n");
  assert.deepEqual(await peer.roundTrip(), []);
  assert.deepEqual(logs.matching(/Dropped/), [
    `em WARNING Dropped a message from ${peer.name}: a second hello`,
  ]);
});
