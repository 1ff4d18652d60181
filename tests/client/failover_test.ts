import assert from "node:assert/strict";
import { connect, type EmError, startServer } from "../../mod.ts";
import type { FailoverClient } from "../../client/failover_client.ts";

/** Sends `send()` every 100 ms until `settled` settles (bounded): the peer may still be failing over. */
async function keepSending(
  settled: Promise<unknown>,
  send: () => Promise<unknown>,
  timeoutMs = 10_000,
): Promise<void> {
  let done = false;
  settled.finally(() => done = true).catch(() => {});
  const deadline = Date.now() + timeoutMs;
  while (!done) {
    if (Date.now() > deadline) {
      throw new Error("Timed out: the failed-over client never got it");
    }
    await send();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test("failover: connect() refuses an empty list and a list with a port of its own", async () => {
  await assert.rejects(connect({ servers: [] }), TypeError);
  await assert.rejects(connect({ servers: [{ port: 1 }], port: 1 }), TypeError);
});

Deno.test("failover: when no server answers, connect fails with the last server's error", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = closed.addr as Deno.NetAddr;
  closed.close();
  await assert.rejects(
    connect({ servers: [{ port }, { port }], connectTimeoutMs: 2_000 }),
    (error: EmError) => error.code === "connect",
  );
});

Deno.test("failover: when its server stops, the client moves to the next and keeps receiving, subscriptions and waits", async () => {
  await using a = await startServer({ port: 0, name: "a" });
  await using b = await startServer({ port: 0, name: "b" });
  await using client = await connect({
    servers: [{ port: a.addr.port }, { port: b.addr.port }],
    receive: true,
  }) as FailoverClient;
  assert.equal(client.serverAddress, `127.0.0.1:${a.addr.port}`);
  const sub = client.subscribe("door/*");
  await sub.ready;
  const events = sub[Symbol.asyncIterator]();
  const waited = client.wait("after_failover", 15_000);
  await a.close();
  await using sender = await connect({ port: b.addr.port });
  await keepSending(waited, () => sender.trigger("after_failover"));
  assert.equal(await waited, true);
  assert.equal(client.serverAddress, `127.0.0.1:${b.addr.port}`);
  assert.equal(client.receiving, true);
  const event = events.next();
  await keepSending(event, () => sender.trigger("door/open", 1));
  assert.equal((await event).value?.name, "door/open");
  await client.trigger("from_client"); // sends go to the new server
  await sub.unsubscribe();
});

Deno.test("failover: when no server is left, waits fail with a clear error and closed settles", async () => {
  await using a = await startServer({ port: 0, name: "a" });
  const client = await connect({
    servers: [{ port: a.addr.port }],
    receive: true,
    failoverTimeoutMs: 500,
    connectTimeoutMs: 200,
  });
  const waited = client.wait("never", 10_000);
  await a.close();
  await assert.rejects(
    waited,
    /Cannot fail over: no server of "127\.0\.0\.1:\d+" answered within 500 ms/,
  );
  assert.match((await client.closed).message, /Cannot fail over/);
  await client.close();
});
