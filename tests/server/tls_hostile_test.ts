// Hostile peers against a TLS server: a silent one, one that stops half-way through its handshake
// and one that sends plain text instead of one. None of them holds up the accept loop or other
// clients; the hello time covers the handshake, so the first two lose their connection slot and
// their socket, as on a plain server (Deno's own TLS listener kept such a socket until the peer
// spoke: server/transports/tls_listener.ts).
import assert from "node:assert/strict";
import { connect, startServer } from "../../mod.ts";
import { makeCertificates, OPENSSL_MISSING } from "../_helpers/tls.ts";
import { captureLogs, literal, RawPeer } from "../_helpers/wire.ts";

Deno.test({
  name:
    "tls: silent, half-handshake and plain-text peers block nobody and lose their slot and socket",
  ignore: OPENSSL_MISSING !== undefined,
  async fn() {
    await using certs = await makeCertificates();
    await using logs = await captureLogs();
    await using server = await startServer({
      port: 0,
      name: "t",
      tls: certs,
      helloTimeoutMs: 1_500, // the good clients complete TLS and hello well within it
    });
    const port = server.addr.port;
    await using silent = await RawPeer.connect(port); // plain TCP, says nothing
    await using half = await RawPeer.connect(port);
    await half.send(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])); // a record never finished
    await using plain = await RawPeer.connect(port);
    await plain.send("H1.1\nF1\nTx\n");
    const options = { port, tls: { caCerts: [certs.ca] } };
    await using waiter = await connect({ ...options, receive: true });
    await using sender = await connect(options);
    await waiter.flush();
    await sender.trigger("served");
    assert.equal(await waiter.wait("served", 5_000), true);

    await plain.untilClosed(10_000); // its bytes are not a handshake: closed at once
    for (const peer of [silent, half]) {
      await logs.waitFor(
        new RegExp(literal(`Closed ${peer.name}: No hello in time`)),
      );
    }
    const deadline = Date.now() + 10_000;
    while (server.connectionCount > 2) {
      assert.ok(Date.now() < deadline, `${server.connectionCount} open`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await using late = await connect(options); // the slots are free again
    await late.flush();
    for (const peer of [silent, half]) await peer.untilClosed(10_000); // and the sockets
  },
});
