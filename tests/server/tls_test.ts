import assert from "node:assert/strict";
import { connect, EmError, startServer } from "../../mod.ts";
import { makeCertificates, OPENSSL_MISSING } from "../_helpers/tls.ts";
import { captureLogs } from "../_helpers/wire.ts";

const ignore = OPENSSL_MISSING !== undefined;

Deno.test({
  name:
    "tls: a client that does not trust the certificate fails with code connect",
  ignore,
  async fn() {
    await using certs = await makeCertificates();
    await using logs = await captureLogs();
    await using server = await startServer({ port: 0, name: "t", tls: certs });
    const { port } = server.addr;
    await assert.rejects(
      connect({ port, tls: true }), // the system's authorities do not know our test CA
      (error) =>
        error instanceof EmError && error.code === "connect" &&
        error.message ===
          `Cannot connect to "127.0.0.1:${port}": TLS: invalid peer certificate: UnknownIssuer`,
    );
    // the handshake fails in whichever of the first read and the hello's write sees it first
    await logs.waitFor(/Closed 127\.0\.0\.1:\d+: Cannot (read|write): /);
  },
});

Deno.test({
  name: "tls: triggers go round trip over TLS, with a shared secret too",
  ignore,
  async fn() {
    await using certs = await makeCertificates();
    await using server = await startServer({
      port: 0,
      name: "t",
      tls: certs,
      secret: "s3cret",
    });
    const options = {
      port: server.addr.port,
      tls: { caCerts: [certs.ca] },
      secret: "s3cret",
    };
    await using waiter = await connect({ ...options, receive: true });
    await using sender = await connect(options);
    await waiter.flush();
    await sender.trigger("secure");
    assert.equal(await waiter.wait("secure", 5_000), true);
    await using byName = await connect({ ...options, hostname: "localhost" });
    await byName.flush();
  },
});

Deno.test({
  name: "tls: a plain TCP client cannot talk to a TLS server",
  ignore,
  async fn() {
    await using certs = await makeCertificates();
    await using server = await startServer({ port: 0, name: "t", tls: certs });
    await assert.rejects(
      connect({ port: server.addr.port, connectTimeoutMs: 300 }),
      (error) => error instanceof EmError && error.code === "timeout",
    );
  },
});

Deno.test("tls: a TLS client fails at once against a plain server", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const { port } = server.addr;
  await assert.rejects(
    connect({ port, tls: true }),
    (error) =>
      error instanceof EmError && error.code === "connect" &&
      error.message.startsWith(`Cannot connect to "127.0.0.1:${port}": TLS: `),
  );
});

Deno.test({
  name:
    "tls: a new connection's first round trip does not wait for a delayed acknowledgement",
  ignore,
  async fn() {
    // Without TCP_NODELAY on the server's socket, the hello after the handshake waits for the
    // client's delayed acknowledgement: a fixed 40 ms on Linux, however fast the machine. The
    // median of a few connections tells the two apart on any load this suite runs under.
    await using certs = await makeCertificates();
    await using server = await startServer({ port: 0, name: "t", tls: certs });
    const options = { port: server.addr.port, tls: { caCerts: [certs.ca] } };
    const ms: number[] = [];
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      await using client = await connect(options);
      await client.flush();
      ms.push(performance.now() - started);
    }
    ms.sort((a, b) => a - b);
    assert.ok(
      ms[3]! < 40,
      `connect and a round trip took ${ms.map((m) => m.toFixed(1))} ms`,
    );
  },
});
