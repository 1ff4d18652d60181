/**
 * Agents across emd nodes over a real 3-node nats-server cluster (started once for this file): an
 * agent hosted on one node is callable from clients (1.2 and WebSocket) and agents of the others,
 * `req.subscribe` works for a remote caller, an API no node hosts fails at once, a node leaving
 * mid-call fails the call clearly, and two nodes hosting one API share its calls.
 */
import assert from "node:assert/strict";
import {
  CallError,
  connect,
  defineAgent,
  type EmServer,
  type JsonValue,
  startServer,
} from "../../../mod.ts";
import type { EmClient as Client } from "../../../client/mod.ts";
import type { Agent, AgentContext } from "../../../server/mod.ts";
import {
  hasNatsServer,
  type NatsCluster,
  startNatsCluster,
} from "../../../bench/_nats_cluster.ts";
import { clusterNode } from "../../_helpers/cluster.ts";
import { until } from "../../_helpers/prometheus.ts";
import { openAfb } from "../../_helpers/ws_client.ts";

const ignore = !hasNatsServer();

const node = (nats: NatsCluster, id: string, agents: Agent[]) =>
  clusterNode(nats, id.charCodeAt(0) % 3, {
    name: "ra",
    nodeId: id,
    http: true,
    agents,
  });

/** `calc` on node a: verbs that answer, fail, subscribe the caller and push. */
function calc(): Agent {
  return defineAgent({
    api: "calc",
    verbs: {
      add: (req) => (req.args as number[]).reduce((a, b) => a + b, 0),
      refuse: (req) => req.fail("no-way", "Refused on purpose"),
      who: (req) => req.caller,
      watch(req, ctx) {
        const tick = ctx.makeEvent("tick");
        req.subscribe(tick);
        return tick.subscriberCount;
      },
      unwatch(req, ctx) {
        const tick = ctx.makeEvent("tick");
        req.unsubscribe(tick);
        return tick.subscriberCount;
      },
      tick: (req, ctx) => ctx.makeEvent("tick").push(req.args),
      subscribers: (_req, ctx) => ctx.makeEvent("tick").subscriberCount,
    },
  });
}

/** An agent on node b that follows `calc/tick` through a call of its own. */
function follower(seen: JsonValue[]): Agent {
  return defineAgent({
    api: "follower",
    verbs: { follow: (_req, ctx) => ctx.call("calc/watch") },
    onEvent(name, data) {
      if (name === "calc/tick") seen.push(data ?? null);
    },
  });
}

/** The same API on several nodes: says which node ran the call. */
function shared(id: string, hold?: Promise<void>): Agent {
  return defineAgent({
    api: "shared",
    verbs: {
      where: () => id,
      hang: async () => {
        await hold;
        return id;
      },
    },
  });
}

async function failure(call: Promise<unknown>): Promise<[string, string]> {
  const error = await call.then(
    () => assert.fail("the call succeeded"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof CallError, String(error));
  return [error.failure, error.message];
}

Deno.test({
  name: "agents: an agent on one node is callable from the others",
  ignore,
  sanitizeOps: true,
  sanitizeResources: true,
}, async (t) => {
  await using nats = await startNatsCluster();
  const followed: JsonValue[] = [];
  let release!: () => void, started!: () => void;
  const hold = new Promise<void>((resolve) => release = resolve);
  const running = new Promise<void>((resolve) => started = resolve);
  await using a = await node(nats, "a", [calc()]);
  await using _b = await node(nats, "b", [follower(followed), shared("b")]);
  await using c = await node(nats, "c", [shared("c")]);
  const d = await node(nats, "d", [
    shared("d", hold),
    defineAgent({
      api: "lonely",
      verbs: {
        hang: () => (started(), new Promise(() => {})),
        ping: () => "pong",
      },
    }),
  ]);
  const clients: Client[] = [];
  const open = async (server: EmServer, receive = true) => {
    const client = await connect({ port: server.addr.port, receive });
    clients.push(client);
    await client.flush();
    return client;
  };
  try {
    const onC = await open(c);
    const onA = await open(a);
    await until( // a new subscription takes a moment to spread between NATS servers
      () => onC.call("calc/add", [1]).then(() => true, () => false),
      "calc to be callable from node c",
    );

    await t.step(
      "an API no node hosts fails at once: unknown-verb",
      async () => {
        const [code, message] = await failure(onC.call("nosuch/verb", 1));
        assert.equal(code, "unknown-verb");
        assert.equal(
          message,
          'No verb "nosuch/verb" on any node of the cluster',
        );
        const [local] = await failure(onC.call("calc/nope"));
        assert.equal(local, "unknown-verb"); // the API exists on a: its node says so
      },
    );

    await t.step(
      "a call of a node that leaves mid-call fails: unavailable",
      async () => {
        await until(
          () => onA.call("lonely/ping").then(() => true, () => false),
          "lonely to be callable from node a",
        );
        const pending = failure(onA.call("lonely/hang"));
        await running;
        await d.close(); // says it leaves: the call fails at once, not after the heartbeats
        const [code, message] = await pending;
        assert.equal(code, "unavailable");
        assert.equal(
          message,
          'Cannot call "lonely/hang": node "d" running it left the cluster',
        );
        release();
      },
    );

    await t.step("replies, failures and the caller cross nodes", async () => {
      assert.equal(await onC.call("calc/add", [1, 2, 3]), 6);
      const [code, message] = await failure(onC.call("calc/refuse"));
      assert.deepEqual([code, message], ["no-way", "Refused on purpose"]);
      assert.match(String(await onC.call("calc/who")), /^127\.0\.0\.1:\d+@c$/);
    });

    await t.step(
      "req.subscribe of a remote caller: the events reach it on its node",
      async () => {
        const watcher = await open(c);
        const events = watcher.events("calc/tick")[Symbol.asyncIterator]();
        assert.equal(await watcher.call("calc/watch"), 1);
        assert.equal(await onC.call("calc/tick", { n: 1 }), 1);
        const event = await events.next();
        assert.deepEqual([event.value?.name, event.value?.data], [
          "calc/tick",
          { n: 1 },
        ]);
        assert.equal(await watcher.call("calc/unwatch"), 0);
        assert.equal(await watcher.call("calc/watch"), 1);
        await watcher.close(); // its node tells a: the subscription ends
        clients.splice(clients.indexOf(watcher), 1);
        await until(
          async () => await onC.call("calc/subscribers") === 0,
          "the closed watcher's subscription to end on node a",
        );
      },
    );

    await t.step(
      "an agent's call of another node's agent, and its events",
      async () => {
        assert.equal(await onA.call("follower/follow"), 1);
        await onA.call("calc/tick", "to the follower");
        await until(() => followed.length === 1, "the follower's onEvent");
        assert.deepEqual(followed, ["to the follower"]);
      },
    );

    await t.step(
      "a WebSocket client of another node calls and gets events",
      async () => {
        await using ws = await openAfb(c.httpAddr!.port);
        const reply = await ws.call("calc/watch");
        assert.deepEqual(reply.slice(0, 2), [3, "c1"]);
        await onA.call("calc/tick", { ws: true });
        const event = await ws.nextEvent();
        assert.equal(event[1], "calc/tick");
        assert.deepEqual((event[2] as { data: unknown }).data, { ws: true });
      },
    );

    await t.step(
      "two nodes hosting one API share its calls; a host calls its own",
      async () => {
        const seen = new Set<unknown>();
        for (let i = 0; i < 40 && seen.size < 2; i++) {
          seen.add(await onA.call("shared/where"));
        }
        assert.deepEqual([...seen].sort(), ["b", "c"]);
        for (let i = 0; i < 5; i++) {
          assert.equal(await onC.call("shared/where"), "c");
        }
      },
    );
  } finally {
    release();
    await Promise.all(clients.map((client) => client.close()));
    await d.close();
  }
});

Deno.test("agents: on one emd, pushCounted and broadcastCounted resolve to what push and broadcast count", async () => {
  let ctx!: AgentContext;
  await using server = await startServer({
    port: 0,
    name: "one",
    agents: [
      defineAgent({ api: "news", init: (c) => void (ctx = c), verbs: {} }),
    ],
  });
  await using client = await connect({ port: server.addr.port, receive: true });
  const sub = client.subscribe("news/*");
  await sub.ready;
  const event = ctx.makeEvent("flash");
  assert.equal(event.push(1), 1);
  assert.equal(await event.pushCounted(2), 1);
  assert.equal(event.broadcast(3), 1);
  assert.equal(await event.broadcastCounted(4), 1);
  await sub.unsubscribe();
});
