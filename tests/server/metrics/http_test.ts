// The observability endpoints on emd's real HTTP listener (startServer({ http })): /metrics that
// promtool accepts, /healthz, /readyz, the bearer rule, and a real Prometheus that scrapes emd.
import assert from "node:assert/strict";
import { connect, startServer } from "../../../mod.ts";
import { promtool, startPrometheus, until } from "../../_helpers/prometheus.ts";

const SECRET = "metrics-secret";

async function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return {
    status: response.status,
    type: response.headers.get("Content-Type"),
    body: await response.text(),
  };
}

Deno.test("http: /metrics, /healthz and /readyz over emd's HTTP listener", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    http: { port: 0 },
  });
  const port = server.httpAddr!.port;
  await using client = await connect({ port: server.addr.port, receive: true });
  await client.trigger("x");
  await client.flush();
  const metrics = await get(port, "/metrics");
  assert.equal(metrics.status, 200);
  assert.equal(metrics.type, "text/plain; version=0.0.4; charset=utf-8");
  assert.match(metrics.body, /^em_triggers_total 1$/m);
  assert.match(
    metrics.body,
    /^em_build_info\{version="unknown",protocols="1\.1,1\.2,x-afb-ws-json1"\} 1$/m,
  );
  assert.match(metrics.body, /^em_connections\{protocol="1\.2"\} 1$/m);
  assert.deepEqual(await promtool(metrics.body), { code: 0, output: "" });
  assert.deepEqual([
    (await get(port, "/healthz")).status,
    (await get(port, "/healthz")).body,
  ], [200, "ok\n"]);
  assert.deepEqual([
    (await get(port, "/readyz")).status,
    (await get(port, "/readyz")).body,
  ], [200, "ready\n"]);
  assert.deepEqual(server.stats().server.addresses, [
    `tcp 127.0.0.1:${server.addr.port}`,
    `http 127.0.0.1:${port}`,
  ]);
  const dashboard = await get(port, "/");
  assert.equal(dashboard.status, 200);
  assert.equal(dashboard.type, "text/html; charset=utf-8");
});

Deno.test("http: with a shared secret every endpoint but /healthz needs the bearer token", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    secret: SECRET,
    http: { port: 0 },
  });
  const port = server.httpAddr!.port;
  assert.equal((await get(port, "/healthz")).status, 200);
  for (const path of ["/metrics", "/readyz", "/"]) {
    assert.equal((await get(port, path)).status, 401, path);
    assert.equal(
      (await get(port, path, { Authorization: "Bearer wrong" })).status,
      401,
      path,
    );
    assert.equal(
      (await get(port, path, { Authorization: `Bearer ${SECRET}` })).status,
      200,
      path,
    );
  }
});

Deno.test("http: a real Prometheus scrapes emd (with the secret as bearer token): up == 1", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    secret: SECRET,
    http: { port: 0 },
  });
  await using prometheus = await startPrometheus({
    target: `127.0.0.1:${server.httpAddr!.port}`,
    bearer: SECRET,
  });
  await until(
    async () => (await prometheus.query('up{job="emd"}')) === "1",
    `up == 1: ${prometheus.log()}`,
  );
  await until(
    async () => (await prometheus.query('em_build_info{job="emd"}')) === "1",
    "em_build_info scraped",
  );
});

/** Opens a WebSocket to emd's /api; resolves once open. */
async function openWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, "x-afb-ws-json1");
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`Cannot open ${url}`));
  });
  return ws;
}

/** Waits for a WebSocket to close. */
function closed(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) =>
    ws.addEventListener("close", () => resolve())
  );
}

Deno.test("http: WebSocket clients count as websocket connections; a wrong token as an auth disconnect", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    secret: SECRET,
    http: { port: 0 },
  });
  const port = server.httpAddr!.port;
  const good = await openWs(`ws://127.0.0.1:${port}/api?token=${SECRET}`);
  const answered = new Promise((resolve) =>
    good.onmessage = (m) => resolve(JSON.parse(m.data))
  );
  good.send(JSON.stringify([2, "1", "emd/stats", null]));
  const [code, id, body] = await answered as [
    number,
    string,
    { response: { server: { name: string } } },
  ];
  assert.deepEqual([code, id, body.response.server.name], [3, "1", "t"]);
  const metrics = await get(port, "/metrics", {
    Authorization: `Bearer ${SECRET}`,
  });
  assert.match(metrics.body, /^em_connections\{protocol="websocket"\} 1$/m);
  const bad = await openWs(`ws://127.0.0.1:${port}/api`);
  bad.send(JSON.stringify([2, "1", "emd/stats", null, "wrong"]));
  await closed(bad);
  await until(
    () => server.stats().disconnects.auth === 1,
    "auth disconnect counted",
  );
  good.close();
  await closed(good);
  await until(
    () => server.stats().disconnects.peer_closed === 1,
    "peer_closed counted",
  );
});
