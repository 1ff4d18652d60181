// emd --tls out of file descriptors: like the plain port (emd_limits_test.ts), the TLS port and
// the HTTPS port pause accepting with one log line and serve again once descriptors are free.
// Deno 2.9.6's node:net server, which emd's TLS listener used, stopped accepting for good.
import assert from "node:assert/strict";
import { connect } from "../../mod.ts";
import { connectMany, lowNofileDeno, startEmd } from "../_helpers/cli.ts";
import { within } from "../_helpers/sync_cli.ts";
import { makeCertificates, OPENSSL_MISSING } from "../_helpers/tls.ts";
import { openAfb } from "../_helpers/ws_client.ts";

Deno.test({
  name:
    "emd --tls: out of file descriptors, the TLS and HTTPS ports pause accepting and recover",
  ignore: Deno.build.os === "windows" || OPENSSL_MISSING !== undefined, // needs sh, ulimit, openssl
  async fn() {
    await using certs = await makeCertificates();
    await using emd = await startEmd(
      "srv",
      [
        "-q",
        "--tls-cert",
        certs.certPath,
        "--tls-key",
        certs.keyPath,
        "--http",
        "0",
      ],
      [],
      { executable: await lowNofileDeno(certs.dir) }, // few descriptors left for connections
    );
    const peers: Deno.TcpConn[] = [];
    try {
      await connectMany(emd.port, 150, peers);
      await emd.waitForLog("Cannot accept: ");
      await connectMany(emd.httpPort, 10, peers); // the HTTPS port meets the same shortage
    } finally {
      for (const peer of peers) peer.close();
    }
    const tls = { caCerts: [certs.ca] };
    await using late = await connect({
      port: emd.port,
      tls,
      connectTimeoutMs: 15_000,
      receive: true,
    });
    await late.flush();
    await using afb = await within(
      openAfb(emd.httpPort, { caCerts: [certs.ca] }),
      15_000,
      "wss client after the shortage",
    );
    const reply = await afb.call("em/trigger", { event: "served" });
    assert.deepEqual(reply[2], {
      jtype: "afb-reply",
      request: { status: "success" },
      response: { receivers: 2 }, // the late TLS client and the wss one
    });
    assert.equal(await late.wait("served", 5_000), true);
    const failures = emd.stderr().match(/Cannot accept: /g) ?? [];
    assert.ok(
      failures.length <= 40,
      `${failures.length} lines:\n${emd.stderr()}`,
    ); // paced
    assert.match(
      emd.stderr(),
      /^emd ERROR Cannot accept: .*; retrying quietly$/m,
    );
  },
});
