import assert from "node:assert/strict";
import { startServer } from "../../../server/mod.ts";
import { runTool, startEmd } from "../../_helpers/cli.ts";
import { AfbTestClient, openAfb } from "../../_helpers/ws_client.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sends raw bytes, reads until the server closes; returns everything it said. */
async function rawExchange(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode(request));
    return await readUntilClosed(conn);
  } finally {
    conn.close();
  }
}

async function readUntilClosed(conn: Deno.Conn): Promise<string> {
  const buffer = new Uint8Array(64 * 1024);
  let text = "";
  for (;;) {
    const count = await conn.read(buffer).catch(() => null);
    if (count === null) return text;
    text += decoder.decode(buffer.subarray(0, count));
  }
}

Deno.test("http: an unknown path is 404 and /api without an upgrade is 426", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    http: { port: 0 },
  });
  const port = server.httpAddr!.port;
  assert.notEqual(port, 0);
  const missing = await rawExchange(
    port,
    "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.match(missing, /^HTTP\/1\.1 404 Not Found\r\n/);
  const api = await rawExchange(port, "GET /api HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.match(api, /^HTTP\/1\.1 426 /);
});

Deno.test("http: a malformed or oversized request head is 400, the server goes on", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    http: { port: 0 },
  });
  const port = server.httpAddr!.port;
  const bad = await rawExchange(port, "NOT HTTP AT ALL\r\n\r\n");
  assert.match(bad, /^HTTP\/1\.1 400 /);
  const huge = await rawExchange(
    port,
    `GET / HTTP/1.1\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
  );
  assert.match(huge, /^HTTP\/1\.1 400 .*\r\n[\s\S]*over 16384 bytes/);
  const fine = await rawExchange(port, "GET /nope HTTP/1.1\r\n\r\n");
  assert.match(fine, /^HTTP\/1\.1 404 /);
});

Deno.test("http: handlers answer in order; Content-Length: 0 on a GET is fine", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    http: {
      port: 0,
      handlers: [
        (request) =>
          new URL(request.url).pathname === "/hello"
            ? new Response("hi", { headers: { "x-test": "1" } })
            : undefined,
        (_request, info) => new Response(`fallback for ${info.peer}`),
      ],
    },
  });
  const port = server.httpAddr!.port;
  const hello = await rawExchange(
    port,
    "GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
  );
  assert.match(hello, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(hello, /\r\nx-test: 1\r\n/);
  assert.match(hello, /\r\n\r\nhi$/);
  const other = await rawExchange(port, "GET /other HTTP/1.1\r\n\r\n");
  assert.match(other, /\r\n\r\nfallback for 127\.0\.0\.1:\d+$/);
});

Deno.test("http: a peer that never finishes its request head is closed after helloTimeoutMs", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    helloTimeoutMs: 200,
    http: { port: 0 },
  });
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: server.httpAddr!.port,
  });
  await conn.write(encoder.encode("GET / HTTP/1.1\r\n"));
  assert.equal(await readUntilClosed(conn), "");
  conn.close();
});

Deno.test("http: an HTTP port in use fails the start", () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr as Deno.NetAddr;
  try {
    assert.throws( // synchronously, as for the TCP port
      () => startServer({ port: 0, name: "t", http: { port } }),
      Deno.errors.AddrInUse,
    );
  } finally {
    taken.close();
  }
});

Deno.test("emd --http 0: prints the bound HTTP port and serves it", async () => {
  await using emd = await startEmd("t", ["--http", "0"]);
  assert.notEqual(emd.httpPort, 0);
  const reply = await rawExchange(emd.httpPort, "GET /nope HTTP/1.1\r\n\r\n");
  assert.match(reply, /^HTTP\/1\.1 404 /);
});

Deno.test("http: GET /em.js is the browser client, a self-contained ES module", async () => {
  await using server = await startServer({
    port: 0,
    name: "t",
    http: { port: 0 },
  });
  const reply = await rawExchange(
    server.httpAddr!.port,
    "GET /em.js HTTP/1.1\r\nHost: x\r\n\r\n",
  );
  assert.match(reply, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(reply, /\r\ncontent-type: text\/javascript; charset=utf-8\r\n/);
  assert.match(reply, /export \{[^}]*connect/);
});

Deno.test("emd --http-allow-origin: usage errors, and a listed origin may connect", async () => {
  const alone = await runTool([
    "emd",
    "--http-allow-origin",
    "https://a.example",
    "--free-port",
    "t",
  ]);
  assert.equal(alone.code, 64);
  assert.match(alone.stderr, /--http-allow-origin needs --http PORT/);
  const bad = await runTool([
    "emd",
    "--http",
    "0",
    "--http-allow-origin",
    "a.example",
    "--free-port",
    "t",
  ]);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /invalid --http-allow-origin "a\.example"/);
  const port = await runTool(["emd", "--http", "x", "--free-port", "t"]);
  assert.equal(port.code, 64);
  await using emd = await startEmd("t", [
    "--http",
    "0",
    "--http-allow-origin",
    "https://app.example",
  ]);
  await using listed = await openAfb(emd.httpPort, {
    headers: { Origin: "https://app.example" },
    masked: true,
  });
  assert.equal((await listed.call("em/trigger", { event: "x" }))[0], 3);
  const other = await AfbTestClient.open(emd.httpPort, {
    headers: { Origin: "https://b.example" },
  });
  assert.ok(!(other instanceof AfbTestClient));
  assert.equal(other.status, 403);
});
