import assert from "node:assert/strict";
import { connect, type DataEvent } from "../../client/mod.ts";
import { startServer } from "../../server/mod.ts";
import { speedAgent } from "../../examples/speed.ts";
import { cameraAgent } from "../../examples/camera.ts";
import { brakeAgent } from "../../examples/brake.ts";

async function nextOf(stream: AsyncIterable<DataEvent>): Promise<DataEvent> {
  const result = await stream[Symbol.asyncIterator]().next();
  assert.equal(result.done, false, "the stream ended");
  return result.value;
}

Deno.test("speed example: km/h at 1 Hz and mph at 2 Hz are two events", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [speedAgent({ kmhAt: () => 160.9344 })],
  });
  await using client = await connect({ port: server.addr.port, receive: true });
  assert.deepEqual(await client.call("speed/subscribe", { unit: "km/h" }), {
    event: "speed/kmh-1Hz",
    unit: "kmh",
    hz: 1,
  });
  const mph = await client.call("speed/subscribe", { unit: "mph", hz: 2 });
  assert.deepEqual(mph, { event: "speed/mph-2Hz", unit: "mph", hz: 2 });
  assert.deepEqual(await client.call("speed/get", { unit: "mph" }), {
    unit: "mph",
    speed: 100,
  });
  const bad = await client.call("speed/subscribe", { unit: "knots" }).catch((
    e,
  ) => e);
  assert.equal(bad.message, 'Unknown unit "knots": use "kmh" or "mph"');
  const stats = await client.call("speed/stats") as { streams: unknown[] };
  assert.equal(stats.streams.length, 2);
});

Deno.test("speed example: a second client reuses the event and its timer", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [speedAgent()],
  });
  await using a = await connect({ port: server.addr.port, receive: true });
  await using b = await connect({ port: server.addr.port, receive: true });
  const ask = { unit: "kmh", hz: 50 };
  const streamA = a.events("speed/kmh-50Hz"); // open before the first tick can come
  const streamB = b.events("speed/kmh-50Hz");
  await a.call("speed/subscribe", ask);
  await b.call("speed/subscribe", ask);
  const stats = await a.call("speed/stats");
  assert.deepEqual(
    (stats as { streams: { event: string; subscribers: number }[] }).streams
      .map(({ event, subscribers }) => ({ event, subscribers })),
    [{ event: "speed/kmh-50Hz", subscribers: 2 }],
  );
  const [fromA, fromB] = await Promise.all([nextOf(streamA), nextOf(streamB)]);
  assert.equal((fromA.data as { unit: string }).unit, "kmh");
  assert.equal(typeof (fromB.data as { speed: number }).speed, "number");
});

Deno.test("speed example: stops and drops when nobody listens, restarts on request", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [speedAgent()],
  });
  await using watcher = await connect({
    port: server.addr.port,
    receive: true,
  });
  await using client = await connect({ port: server.addr.port, receive: true });
  const stopped = watcher.events("speed/stopped");
  const ask = { unit: "mph", hz: 50 };
  await client.call("speed/subscribe", ask);
  const first = await nextOf(client.events("speed/mph-50Hz"));
  assert.equal((first.data as { seq: number }).seq >= 1, true);
  await client.call("speed/unsubscribe", ask);
  assert.deepEqual(await nextOf(stopped), {
    name: "speed/stopped",
    data: { event: "speed/mph-50Hz" },
  });
  assert.deepEqual(await client.call("speed/stats"), { streams: [] });
  const restarted = client.events("speed/mph-50Hz"); // open before the first tick can come
  await client.call("speed/subscribe", ask);
  const again = await nextOf(restarted);
  assert.equal(
    (again.data as { seq: number }).seq,
    1,
    "a new stream, a new timer",
  );
  await client.close(); // a subscriber that disconnects also stops it
  assert.deepEqual((await nextOf(stopped)).data, { event: "speed/mph-50Hz" });
});

Deno.test("camera → brake example: a broadcast collision makes the brake agent act", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [cameraAgent(), brakeAgent(), speedAgent({ kmhAt: () => 42 })],
  });
  await using driver = await connect({ port: server.addr.port, receive: true });
  const applied = driver.subscribe("brake/applied");
  await applied.ready;
  assert.deepEqual(await driver.call("camera/detect", { distanceM: 50 }), {
    imminent: false,
    receivers: 0,
  });
  const seen = driver.events("camera/*");
  // the driver's connection and the brake agent (speed has no onEvent; the camera is the sender)
  assert.deepEqual(await driver.call("camera/detect", { distanceM: 4 }), {
    imminent: true,
    receivers: 2,
  });
  assert.deepEqual(await nextOf(seen), {
    name: "camera/collision-imminent",
    data: { distanceM: 4 },
  });
  assert.deepEqual(await nextOf(applied), {
    name: "brake/applied",
    data: {
      applied: 1,
      cause: { distanceM: 4 },
      speed: { unit: "kmh", speed: 42 },
    },
  });
  assert.deepEqual(await driver.call("brake/status"), { applied: 1 });
});
