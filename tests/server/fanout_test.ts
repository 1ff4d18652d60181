import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import { startServer } from "../../server/mod.ts";

Deno.test("emd: a trigger wakes a receiving client", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await using sender = await connect({ port: server.addr.port });
  await waiter.flush(); // a round trip: the server has processed our flags
  await sender.trigger("build_done");
  assert.equal(await waiter.wait("build_done", 2_000), true);
});
