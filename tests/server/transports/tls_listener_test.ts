// The TLS listener's sockets read on demand, like Deno's own: a TLS peer that sends faster than
// emd reads is slowed down by TCP instead of piling up in emd's memory.
import assert from "node:assert/strict";
import { listenTls } from "../../../server/transports/tls_listener.ts";
import { within } from "../../_helpers/sync_cli.ts";
import { makeCertificates, OPENSSL_MISSING } from "../../_helpers/tls.ts";

const CHUNK = 64 * 1024;
const LIMIT = 64 * 1024 * 1024; // far beyond what loopback's socket buffers hold (a few MB)

Deno.test({
  name:
    "tls listener: a sender nobody reads is held back by TCP, and loses nothing once read",
  ignore: OPENSSL_MISSING !== undefined,
  async fn() {
    await using certs = await makeCertificates();
    const acceptor = await listenTls({ hostname: "127.0.0.1", port: 0 }, certs);
    try {
      const { port } = acceptor.addr as Deno.NetAddr;
      const accepted = acceptor.accept();
      const client = await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [certs.ca],
      });
      const server = await accepted;
      try {
        const first = new Uint8Array(1);
        await client.write(new Uint8Array([7]));
        assert.equal(await server.read(first), 1); // handshake done, data flowing; then no reads
        const chunk = new Uint8Array(CHUNK).fill(1);
        let sent = 1;
        let pending: Promise<number> | undefined;
        while (sent < LIMIT) {
          const write = client.write(chunk);
          const count = await within(write, 1_000, "write") // or the socket pushes back
            .catch(() => undefined);
          if (count === undefined) {
            pending = write;
            break;
          }
          sent += count;
        }
        assert.ok(pending !== undefined, `${sent} bytes taken without reading`);
        assert.ok(sent < LIMIT / 2, `${sent} bytes taken before pushing back`);
        const buffer = new Uint8Array(CHUNK);
        let received = 1;
        const reading = (async () => {
          for (;;) {
            const count = await server.read(buffer);
            if (count === null) return;
            received += count;
          }
        })();
        sent += await pending;
        await client.closeWrite();
        await reading;
        assert.equal(received, sent);
      } finally {
        client.close();
        server.close();
      }
    } finally {
      acceptor.close();
    }
  },
});

Deno.test({
  name: "tls listener: a port in use rejects with AddrInUse",
  ignore: OPENSSL_MISSING !== undefined,
  async fn() {
    await using certs = await makeCertificates();
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = taken.addr;
    await assert.rejects(
      listenTls({ hostname: "127.0.0.1", port }, certs),
      Deno.errors.AddrInUse,
    );
  },
});
