import assert from "node:assert/strict";
import { startServer } from "../../../server/mod.ts";
import { makeCertificates, OPENSSL_MISSING } from "../../_helpers/tls.ts";
import { AfbTestClient, openAfb } from "../../_helpers/ws_client.ts";

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
