import assert from "node:assert/strict";
import { startServer } from "../../../server/mod.ts";
import { connect } from "../../../client/mod.ts";
import { type AfbTestClient, openAfb } from "../../_helpers/ws_client.ts";

const CLIENTS = 1000;

Deno.test("websocket: 1,000 concurrent clients each receive one event", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    http: { port: 0 },
  });
  const clients: AfbTestClient[] = [];
  try {
    for (let i = 0; i < CLIENTS; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: 100 }, () => openAfb(server.httpAddr!.port)),
      );
      clients.push(...batch);
      await Promise.all(
        batch.map((c) => c.call("em/subscribe", { event: "fan.out" })),
      );
    }
    assert.equal(server.connectionCount, CLIENTS);
    await using sender = await connect({ port: server.addr.port });
    assert.equal(await sender.trigger("fan.out", { n: 1 }), CLIENTS);
    const events = await Promise.all(clients.map((c) => c.nextEvent(20_000)));
    for (const event of events) {
      assert.deepEqual(event, [5, "fan.out", {
        jtype: "afb-event",
        event: "fan.out",
        data: { n: 1 },
      }]);
    }
  } finally {
    await Promise.all(clients.map((c) => c[Symbol.asyncDispose]()));
  }
});
