import assert from "node:assert/strict";
import { startServer } from "../../../server/mod.ts";
import { makeCertificates, OPENSSL_MISSING } from "../../_helpers/tls.ts";
import { AfbTestClient, openAfb } from "../../_helpers/ws_client.ts";
import { RawPeer } from "../../_helpers/wire.ts";

Deno.test({
  name:
    "websocket: with --tls-cert/--tls-key the HTTP listener serves wss:// (the token travels encrypted)",
  ignore: OPENSSL_MISSING !== undefined,
  async fn() {
    await using certs = await makeCertificates();
    await using server = await startServer({
      port: 0,
      name: "t",
      secret: "tls-secret",
      tls: { cert: certs.cert, key: certs.key },
      http: { port: 0 },
    });
    const port = server.httpAddr!.port;
    await using client = await openAfb(port, {
      caCerts: [certs.ca],
      path: "/api?token=tls-secret",
    });
    const reply = await client.call("em/trigger", { event: "secure" });
    assert.deepEqual(reply[2], {
      jtype: "afb-reply",
      request: { status: "success" },
      response: { receivers: 1 },
    });
    const plain = await AfbTestClient.open(port).catch((error) => error);
    assert.ok(!(plain instanceof AfbTestClient)); // plain text to a TLS port: no upgrade
  },
});

Deno.test({
  name:
    "https: silent and half-handshake peers on the HTTP port lose their socket at the hello timeout",
  ignore: OPENSSL_MISSING !== undefined,
  async fn() {
    await using certs = await makeCertificates();
    await using server = await startServer({
      port: 0,
      name: "t",
      tls: { cert: certs.cert, key: certs.key },
      http: { port: 0 },
      helloTimeoutMs: 1_000, // a good client completes TLS and its request well within it
    });
    const port = server.httpAddr!.port;
    await using silent = await RawPeer.connect(port); // plain TCP, says nothing
    await using half = await RawPeer.connect(port);
    await half.send(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])); // a record never finished
    await using client = await openAfb(port, { caCerts: [certs.ca] });
    const reply = await client.call("em/trigger", { event: "served" });
    assert.deepEqual(reply[2], {
      jtype: "afb-reply",
      request: { status: "success" },
      response: { receivers: 1 },
    });
    // Deno's own TLS listener kept both sockets until the peer spoke or closed.
    for (const peer of [silent, half]) await peer.untilClosed(10_000);
  },
});
