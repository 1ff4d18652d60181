/**
 * emd --cluster as real processes over a real 3-node nats-server cluster: flags, an unreachable
 * cluster, `kill -9` of an emd node under a failing-over client tool, and the node's absence in
 * receiver counts afterwards.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { CallError, connect } from "../../mod.ts";
import { hasNatsServer, startNatsCluster } from "../../bench/_nats_cluster.ts";
import { closedPort, runTool, spawnTool } from "../_helpers/cli.ts";
import { clusterEmd } from "../_helpers/cluster.ts";

const ignore = !hasNatsServer();
const HANG_AGENT = fileURLToPath(
  new URL("./_fixtures/hang_agent.ts", import.meta.url),
);

Deno.test("emd --cluster: bad cluster flags are usage errors", async () => {
  const bad = await runTool(["emd", "--cluster", "http://x:1", "4000", "c"]);
  assert.equal(bad.code, 64);
  assert.match(
    bad.stderr,
    /^emd: invalid --cluster URL "http:\/\/x:1": use nats:\/\/HOST:PORT/,
  );
  const alone = await runTool(["emd", "--cluster-node", "a", "4000", "c"]);
  assert.equal(alone.code, 64);
  assert.match(alone.stderr, /^emd: --cluster-node needs --cluster/);
});

Deno.test("emd --cluster: an unreachable cluster stops emd at start (exit 1)", async () => {
  const port = closedPort();
  const result = await runTool([
    "emd",
    "--cluster",
    `nats://127.0.0.1:${port}`,
    "--free-port",
    "c",
  ]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    new RegExp(`emd: Cannot join the cluster at "nats://127.0.0.1:${port}"`),
  );
});

Deno.test({
  name:
    "emd --cluster: kill -9 of a node: its latch survives, its tool fails over, counts leave it out, a call it ran fails",
  ignore,
}, async () => {
  await using nats = await startNatsCluster();
  const emd = (i: number, nodeId: string, flags: string[] = []) =>
    clusterEmd(nats, i, { name: "c", nodeId, flags });
  await using a = await emd(0, "a");
  await using b = await emd(1, "b");
  await using c = await emd(2, "c", ["--agent", HANG_AGENT]);
  await using ra = await connect({ port: a.port, receive: true });
  await using rb = await connect({ port: b.port, receive: true });
  await using rc = await connect({ port: c.port, receive: true });
  await using sender = await connect({ port: a.port });
  await Promise.all([ra, rb, rc].map((r) => r.flush()));
  const deadline = Date.now() + 15_000;
  while (await sender.trigger("count_probe", 1) !== 3) { // every node knows the others
    assert.ok(Date.now() < deadline, "the nodes never counted each other");
  }
  await using waiter = spawnTool([
    "emwait",
    "-s",
    `127.0.0.1:${c.port},127.0.0.1:${b.port}`,
    "after_kill",
    "30000",
  ]);
  await c.waitForLog(/Accepted .*\n(.|\n)*Accepted /); // rc, then the tool
  await using onC = await connect({ port: c.port });
  await onC.trigger("taken_on_c", { latch: true }); // acknowledged by node c, then c dies
  while (await sender.call("hang/ping").catch(() => "") !== "pong") { // NATS spreads c's API
    assert.ok(Date.now() < deadline, "node c's agent never became callable");
  }
  const started = ra.events("hang/started")[Symbol.asyncIterator]();
  const inFlight = sender.call("hang/forever").catch((error: Error) => error);
  await started.next(); // c took the call (its answer "taken" went out before this broadcast)
  c.child.kill("SIGKILL");
  assert.notEqual((await c.exited()).code, 0);
  while (!waiter.exited) { // the tool is failing over to b: trigger until it has seen one
    assert.ok(
      Date.now() < deadline + 15_000,
      "emwait never woke after failing over",
    );
    await sender.trigger("after_kill");
    await Promise.race([
      waiter.result,
      new Promise((resolve) => setTimeout(resolve, 200)),
    ]);
  }
  const result = await waiter.result;
  assert.equal(result.code, 0, result.stderr);
  const failed = await inFlight; // node a gave the call up once c was unheard for 3.5 heartbeats
  assert.ok(failed instanceof CallError, String(failed));
  assert.equal(failed.failure, "unavailable");
  assert.match(
    failed.message,
    /^Cannot call "hang\/forever": node "c" running it left the cluster$/,
  );
  await using late = await connect({ port: a.port, receive: true });
  assert.equal(await late.waitAny(["taken_on_c"], 0), "taken_on_c");
  // ra, rb and late count (emwait's connection on b ended with it); c and rc are gone
  let count = await sender.trigger("count_probe", 1);
  while (count !== 3) {
    assert.ok(Date.now() < deadline + 30_000, `count stuck at ${count}`);
    count = await sender.trigger("count_probe", 1);
  }
});
