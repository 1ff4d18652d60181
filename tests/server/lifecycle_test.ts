import assert from "node:assert/strict";
import { startServer } from "../../server/mod.ts";
import { captureLogs, literal, RawPeer } from "../_helpers/wire.ts";

/** The server hello: H1.2 and lower-case options (`m<bytes>` from the agents capability). */
const SERVER_HELLO = /^H1\.2(;[a-z][^;]*)*$/;

/** "finished" if the server has stopped by now, else "running"; never waits. */
async function state(finished: Promise<string>): Promise<string> {
  const running = Symbol("running");
  const first = await Promise.race([finished, Promise.resolve(running)]);
  return first === running ? "running" : "finished";
}

Deno.test("emd: an invalid name or port is refused before listening", async () => {
  await assert.rejects(async () => await startServer({ name: "bad name" }), {
    name: "TypeError",
    message: 'Invalid server name "bad name": use [A-Za-z0-9_]+',
  });
  await assert.rejects(async () => await startServer({ name: "" }), TypeError);
  for (const port of [-1, 65536, 1.5, Number.NaN]) {
    await assert.rejects(
      async () => await startServer({ name: "t", port }),
      RangeError,
      `port ${port}`,
    );
  }
});

Deno.test("emd: a quit with the right name stops the server and closes every connection", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({ port: 0, name: "build_server" });
  await using other = await RawPeer.greeted(server.addr.port, "H1.1\nF1");
  await other.roundTrip("flags");
  await using quitter = await RawPeer.greeted(server.addr.port);
  await quitter.send("Qbuild_server;iignored\n");
  assert.equal(await server.finished, `quit requested by ${quitter.name}`);
  assert.deepEqual(await quitter.untilClosed(), []);
  assert.deepEqual(await other.untilClosed(), []);
  assert.equal(server.connectionCount, 0);
  assert.deepEqual(logs.matching(/Stopping/), [
    `em INFO Stopping: quit requested by ${quitter.name}`,
  ]);
  await assert.rejects(
    RawPeer.connect(server.addr.port),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("emd: a quit with the wrong name is refused with a log line and the server goes on", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({ port: 0, name: "t" });
  await using quitter = await RawPeer.greeted(server.addr.port);
  await quitter.send("Qother\nQT\nQt,x\nQ\n");
  assert.deepEqual(await quitter.roundTrip(), []);
  assert.deepEqual(logs.matching(/refused quit/), [
    `em WARNING Dropped a message from ${quitter.name}: refused quit: wrong server name "other"`,
    `em WARNING Dropped a message from ${quitter.name}: refused quit: wrong server name "T"`,
    `em WARNING Dropped a message from ${quitter.name}: refused quit: wrong server name "t,x"`,
    `em WARNING Dropped a message from ${quitter.name}: refused quit: wrong server name ""`,
  ]);
  assert.equal(await state(server.finished), "running");
  await using later = await RawPeer.greeted(server.addr.port);
  assert.deepEqual(await later.roundTrip(), []);
});

Deno.test("emd: close() is idempotent and settles finished with its reason", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await RawPeer.greeted(server.addr.port);
  await peer.roundTrip();
  const first = server.close("test over");
  const second = server.close("ignored");
  assert.equal(first, second);
  await first;
  assert.equal(await server.finished, "test over");
  assert.deepEqual(await peer.untilClosed(), []);
  await server.close();
  await server[Symbol.asyncDispose]();
  assert.equal(await server.finished, "test over");
});

Deno.test("emd: close() closes open connections, one log line each", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await RawPeer.connect(server.addr.port);
  assert.match(String(await peer.readLine()), SERVER_HELLO);
  await server.close("done");
  assert.deepEqual(await peer.untilClosed(), []);
  assert.ok(
    logs.matching(
      new RegExp(literal(`Closed ${peer.name}: Server stopping: done`)),
    ).length === 1,
    logs.lines.join("\n"),
  );
});
