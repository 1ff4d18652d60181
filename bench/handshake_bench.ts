/**
 * What the shared-secret handshake and TLS cost per connection: connect (hellos exchanged, and
 * proofs checked both ways with a secret), one round trip, close; against an in-process server.
 * Then what TLS costs per message: a round trip on an open connection, plain and over TLS.
 *
 * ```sh
 * deno bench -A bench/handshake_bench.ts
 * ```
 * @module
 */
import { connect, startServer } from "../mod.ts";
import { makeCertificates, OPENSSL_MISSING } from "../tests/_helpers/tls.ts";

const SECRET = "a bench secret";
const plain = await startServer({ port: 0, name: "b" });
const secured = await startServer({ port: 0, name: "b", secret: SECRET });
const certs = OPENSSL_MISSING === undefined
  ? await makeCertificates()
  : undefined;
const tls = certs && await startServer({
  port: 0,
  name: "b",
  secret: SECRET,
  tls: { cert: certs.cert, key: certs.key },
});

async function roundTrip(
  options: Parameters<typeof connect>[0],
): Promise<void> {
  await using client = await connect(options);
  await client.flush();
}

Deno.bench(
  "connect + flush + close, no secret",
  { baseline: true },
  async () => {
    await roundTrip({ port: plain.addr.port });
  },
);

Deno.bench("connect + flush + close, shared secret", async () => {
  await roundTrip({ port: secured.addr.port, secret: SECRET });
});

Deno.bench({
  name: "connect + flush + close, shared secret over TLS",
  ignore: tls === undefined,
  async fn() {
    await roundTrip({
      port: tls!.addr.port,
      secret: SECRET,
      tls: { caCerts: [certs!.ca] },
    });
  },
});

// A round trip on a connection that is already open: what TLS adds to every message.
const open = await connect({ port: plain.addr.port });
const openTls = tls &&
  await connect({
    port: tls.addr.port,
    secret: SECRET,
    tls: { caCerts: [certs!.ca] },
  });

Deno.bench(
  "round trip on an open connection",
  { group: "open", baseline: true },
  async () => {
    await open.flush();
  },
);

Deno.bench({
  name: "round trip on an open connection, TLS",
  group: "open",
  ignore: openTls === undefined,
  async fn() {
    await openTls!.flush();
  },
});

globalThis.addEventListener("unload", () => {
  if (certs) Deno.removeSync(certs.dir, { recursive: true });
});
