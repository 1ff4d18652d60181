// The observability endpoints as a function of a request: paths, methods, status codes, the
// bearer-token rule, readiness. The real HTTP listener is exercised in tests/server/metrics/http_test.ts.
import assert from "node:assert/strict";
import { Readiness, startServer } from "../../../server/mod.ts";
import {
  observabilityResponse,
  type ObservedServer,
} from "../../../server/metrics/http_routes.ts";
import { DASHBOARD_SCRIPT } from "../../../server/metrics/dashboard_page.ts";

const SECRET = "s3cret-value";

async function get(
  server: ObservedServer,
  path: string,
  init: RequestInit = {},
) {
  const response = await observabilityResponse(
    new Request(`http://127.0.0.1:1${path}`, init),
    server,
  );
  if (response === undefined) return undefined;
  return {
    status: response.status,
    headers: response.headers,
    body: await response.text(),
  };
}

Deno.test("http routes: other paths are not ours", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  assert.equal(await get(server, "/api"), undefined);
  assert.equal(await get(server, "/em.js"), undefined);
  assert.equal(await get(server, "/metricsx"), undefined);
});

Deno.test("http routes: only GET and HEAD", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const response = await get(server, "/metrics", { method: "POST" });
  assert.equal(response?.status, 405);
  assert.equal(response?.headers.get("Allow"), "GET, HEAD");
});

Deno.test("http routes: with a secret, all but /healthz and the static script need it as a bearer token", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    secret: SECRET,
  });
  const bound: ObservedServer = {
    stats: (detail) => server.stats(detail),
    readiness: server.readiness,
    secret: SECRET,
  };
  assert.equal((await get(bound, "/healthz"))?.status, 200);
  assert.equal((await get(bound, "/dashboard.js"))?.status, 200); // static code, no data
  for (const path of ["/metrics", "/readyz", "/"]) {
    const none = await get(bound, path);
    assert.equal(none?.status, 401, path);
    assert.equal(none?.headers.get("WWW-Authenticate"), 'Bearer realm="emd"');
    assert.equal(
      none?.body,
      "Unauthorized: give the shared secret as a bearer token\n",
    );
    const wrong = await get(bound, path, {
      headers: { Authorization: "Bearer nope" },
    });
    assert.equal(wrong?.status, 401, path);
    const prefix = await get(bound, path, {
      headers: { Authorization: `Bearer ${SECRET.slice(0, -1)}` },
    });
    assert.equal(prefix?.status, 401, path);
    const right = await get(bound, path, {
      headers: { Authorization: `Bearer ${SECRET}` },
    });
    assert.equal(right?.status, 200, path);
    const query = await get(bound, `${path}?token=${SECRET}`);
    assert.equal(query?.status, 200, path);
  }
});

Deno.test("http routes: /metrics is the Prometheus text of the server's report", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    version: "1.0.0",
  });
  const response = await get(server, "/metrics");
  assert.equal(response?.status, 200);
  assert.equal(
    response?.headers.get("Content-Type"),
    "text/plain; version=0.0.4; charset=utf-8",
  );
  assert.match(
    response!.body,
    /^em_build_info\{version="1\.0\.0",protocols="1\.1,1\.2"\} 1$/m,
  );
  assert.match(response!.body, /^em_connections\{protocol="1\.1"\} 0$/m);
});

Deno.test("http routes: /readyz is 200 ready, 503 with the first failing check's reason", async () => {
  const server = await startServer({ port: 0, name: "t" });
  try {
    assert.deepEqual(
      [
        (await get(server, "/readyz"))?.status,
        (await get(server, "/readyz"))?.body,
      ],
      [200, "ready\n"],
    );
    let connected = false;
    using _check = server.readiness.add(
      "cluster",
      () => connected ? undefined : "not connected to the cluster",
    );
    const down = await get(server, "/readyz");
    assert.deepEqual([down?.status, down?.body], [
      503,
      "not connected to the cluster\n",
    ]);
    connected = true;
    assert.equal((await get(server, "/readyz"))?.status, 200);
  } finally {
    await server.close();
  }
  const stopped = await get(server, "/readyz");
  assert.deepEqual([stopped?.status, stopped?.body], [503, "stopping\n"]);
  assert.equal((await get(server, "/healthz"))?.status, 200);
});

Deno.test("readiness: a throwing check counts as failed, a removed one no more", () => {
  const readiness = new Readiness();
  const check = readiness.add("x", () => {
    throw new Error("boom");
  });
  assert.deepEqual(readiness.state(), { ready: false, reason: "x: boom" });
  check[Symbol.dispose]();
  assert.deepEqual(readiness.state(), { ready: true, reason: "ready" });
});

Deno.test("http routes: the dashboard page and its script, with a strict content policy", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const page = await get(server, "/");
  assert.equal(page?.status, 200);
  assert.equal(page?.headers.get("Content-Type"), "text/html; charset=utf-8");
  assert.match(
    page!.headers.get("Content-Security-Policy")!,
    /default-src 'none'; script-src 'self'/,
  );
  assert.match(
    page!.body,
    /<script type="module" src="\/dashboard.js"><\/script>/,
  );
  const script = await get(server, "/dashboard.js");
  assert.equal(
    script?.headers.get("Content-Type"),
    "text/javascript; charset=utf-8",
  );
  assert.equal(script?.body, DASHBOARD_SCRIPT);
  new Function(DASHBOARD_SCRIPT); // parses as JavaScript
});
