import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import { startServer } from "../../server/mod.ts";
import { CallError } from "../../protocol/mod.ts";
import { type Agent, defineAgent } from "../../server/agents/agent.ts";
import { rawPeer } from "./_raw.ts";

const echo: Agent = defineAgent({
  api: "echo",
  verbs: {
    same: (req) => req.args,
    replied: (req) => req.reply({ via: "reply" }),
    refuse: (req) => req.fail("no-way", "Refused on purpose"),
    throws: () => {
      throw new Error("Boom in the verb");
    },
    rejects: () => Promise.reject(new Error("Async boom")),
    nothing: () => {},
    later: async (req) => {
      await Promise.resolve();
      req.reply("later");
    },
    twice: (req) => {
      req.reply(1);
      req.reply(2);
      req.fail("x", "ignored");
    },
    unserializable: () => ({ big: 1n }),
    ask: (_req, ctx) => ctx.call("echo/same", { hop: 2 }),
  },
});

Deno.test("agents: a verb that throws is a failed reply and the server goes on", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [echo],
  });
  await using client = await connect({ port: server.addr.port });
  const failure = await client.call("echo/throws").catch((e) => e);
  assert.ok(failure instanceof CallError);
  assert.equal(failure.code, "failed");
  assert.equal(failure.failure, "failed");
  assert.equal(failure.message, "Boom in the verb");
  const rejected = await client.call("echo/rejects").catch((e) => e);
  assert.equal(rejected.message, "Async boom");
  assert.deepEqual(await client.call("echo/same", [1]), [1]);
});

Deno.test("agents: unknown verbs and APIs fail with unknown-verb", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [echo],
  });
  await using client = await connect({ port: server.addr.port });
  for (const verb of ["echo/nope", "nope/same", "echo/toString"]) {
    const failure = await client.call(verb).catch((e) => e);
    assert.ok(failure instanceof CallError, verb);
    assert.equal(failure.failure, "unknown-verb");
    assert.equal(failure.message, `No verb "${verb}"`);
  }
});

Deno.test("agents: req.fail carries the agent's code and message", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [echo],
  });
  await using client = await connect({ port: server.addr.port });
  const failure = await client.call("echo/refuse").catch((e) => e);
  assert.equal(failure.failure, "no-way");
  assert.equal(failure.message, "Refused on purpose");
});

Deno.test("agents: replies by return, reply, later; only the first answer counts", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [echo],
  });
  await using client = await connect({ port: server.addr.port });
  const args = { text: "a;b,c\\d é \u{1F600}", list: [1, 2.5, null, true] };
  assert.deepEqual(await client.call("echo/same", args), args);
  assert.equal(await client.call("echo/same"), null);
  assert.deepEqual(await client.call("echo/replied"), { via: "reply" });
  assert.equal(await client.call("echo/nothing"), null);
  assert.equal(await client.call("echo/later"), "later");
  assert.equal(await client.call("echo/twice"), 1);
  assert.equal(
    (await client.call("echo/unserializable").catch((e) => e)).failure,
    "failed",
  );
  assert.deepEqual(await client.call("echo/ask"), { hop: 2 });
});

Deno.test("agents: invalid JSON and bad messages get an error reply, nothing crashes", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [echo],
  });
  await using peer = await rawPeer(server.addr.port, "H1.2\n");
  assert.match(await peer.line(), /^H1\.2;m\d+(;[a-z][^;]*)*$/);
  await peer.write("c1,echo/same,{oops\n");
  assert.match(await peer.line(), /^x1,bad-request,echo\/same: invalid JSON: /);
  await peer.write("c2,noslash\n");
  assert.equal(await peer.line(), 'x2,bad-request,bad verb "noslash"');
  await peer.write("t3,bad name,1\n");
  assert.equal(await peer.line(), 'x3,bad-request,bad event name "bad name"');
  await peer.write("t4,ok,[1\n");
  assert.match(await peer.line(), /^x4,bad-request,ok: invalid JSON/);
  await peer.write("s5,a b\n");
  assert.equal(await peer.line(), 'x5,bad-request,bad pattern "a b"');
  await peer.write("c6,echo/same,\\x7B\\x7D\n");
  assert.equal(await peer.line(), "r6,{}");
  await peer.write("p7\n");
  assert.equal(await peer.line(), "p7");
});

Deno.test("agents: a 1.1 peer's 1.2 commands are ignored", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    agents: [echo],
  });
  await using peer = await rawPeer(server.addr.port, "H1.1\n");
  await peer.line();
  await peer.write("c1,echo/same,1\nTdone\nF1\nTdone\n");
  assert.equal(await peer.line(), "Tdone");
  assert.deepEqual(peer.buffered, []);
});

Deno.test("agents: a 1.1 server refuses 1.2 calls with a clear error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    await conn.write(new TextEncoder().encode("H1.1\n"));
    const buffer = new Uint8Array(100);
    while (await conn.read(buffer) !== null) { /* until the client closes */ }
    conn.close();
  })();
  {
    await using client = await connect({
      port: (listener.addr as Deno.NetAddr).port,
    });
    const failure = await client.call("a/b").catch((e) => e);
    assert.equal(failure.code, "protocol");
    assert.match(failure.message, /speaks protocol 1\.1/);
    assert.equal(client.maxMessageBytes, 4096);
  }
  await serving;
  listener.close();
});

Deno.test("agents: two agents with one API name stop the start", () => {
  assert.throws(
    () => startServer({ port: 0, name: "t", agents: [echo, echo] }),
    { name: "TypeError", message: 'Duplicate agent API name "echo"' },
  );
});

Deno.test("agents: an init that throws rejects the start and closes the listener", async () => {
  const bad = defineAgent({
    api: "bad",
    init: () => {
      throw new Error("no config");
    },
    verbs: {},
  });
  await assert.rejects(startServer({ port: 0, name: "t", agents: [bad] }), {
    message: 'Cannot start agent "bad": no config',
  });
});

Deno.test("agents: defineAgent rejects malformed agents", () => {
  assert.throws(() => defineAgent({ api: "a/b", verbs: {} }), TypeError);
  assert.throws(
    () => defineAgent({ api: "a", verbs: { "x y": () => 1 } }),
    TypeError,
  );
});
