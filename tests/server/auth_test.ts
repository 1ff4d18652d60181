import assert from "node:assert/strict";
import { connect, EmError, startServer } from "../../mod.ts";
import {
  authProof,
  importSecret,
  newNonce,
  type ProofInput,
} from "../../protocol/mod.ts";
import { CLOSE_LINGER_MS } from "../../server/connection.ts";
import { captureLogs, literal, RawPeer } from "../_helpers/wire.ts";

const SECRET = "correct horse battery staple";
const PROTECTED_HELLO = /^H1\.2(?:;[a-mo-z][^;]*)*;n([0-9a-f]{64})$/;
const REQUIRED =
  "eauth,Authentication required: connect with this server's shared secret";
const FAILED = "eauth,Authentication failed: wrong shared secret";

/** A client hello proving `secret` for the nonce in `serverHello`, as a legitimate client sends. */
async function provingHello(
  serverHello: string | null,
  options: { secret?: string; role?: ProofInput["role"] } = {},
): Promise<string> {
  const serverNonce = String(serverHello).match(PROTECTED_HELLO)?.[1];
  assert.ok(serverNonce, `no nonce in the server's hello ${serverHello}`);
  const clientNonce = newNonce();
  const key = await importSecret(options.secret ?? SECRET);
  const proof = await authProof(key, {
    role: options.role ?? "client",
    serverNonce,
    clientNonce,
  });
  return `H1.2;n${clientNonce};h${proof}`;
}

/** A server on port 0 named "t" that requires SECRET. */
function protectedServer() {
  return startServer({ port: 0, name: "t", secret: SECRET });
}

async function rejection(promise: Promise<unknown>): Promise<EmError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof EmError, String(error));
    return error;
  }
  assert.fail("expected a rejection");
}

Deno.test("auth: a client with the wrong secret is refused with code auth and a log line", async () => {
  await using logs = await captureLogs();
  await using server = await protectedServer();
  const error = await rejection(
    connect({ port: server.addr.port, secret: "not the secret" }),
  );
  assert.equal(error.code, "auth");
  assert.equal(
    error.message,
    `Refused by "127.0.0.1:${server.addr.port}": Authentication failed: wrong shared secret`,
  );
  await logs.waitFor(
    /WARNING Closed 127\.0\.0\.1:\d+: Authentication failed: wrong proof \(another secret\)$/,
  );
});

Deno.test("auth: a client without a secret is told the server requires one", async () => {
  await using server = await protectedServer();
  const error = await rejection(connect({ port: server.addr.port }));
  assert.equal(error.code, "auth");
  assert.equal(
    error.message,
    `Cannot connect to "127.0.0.1:${server.addr.port}": the server requires a shared secret (give one: --secret-file or EM_SECRET)`,
  );
});

Deno.test("auth: a 1.1 peer gets one e line, then the close; its trigger and quit do nothing", async () => {
  await using logs = await captureLogs();
  await using server = await protectedServer();
  await using waiter = await connect({
    port: server.addr.port,
    secret: SECRET,
    receive: true,
  });
  await waiter.flush();
  await using peer = await RawPeer.connect(server.addr.port);
  assert.match(String(await peer.readLine()), PROTECTED_HELLO);
  await peer.send("H1.1\nF1\nTsneaky\nQt\n");
  assert.deepEqual(await peer.untilClosed(), [REQUIRED]);
  await logs.waitFor(
    new RegExp(
      `WARNING Closed ${
        literal(peer.name)
      }: Authentication failed: no proof in the hello$`,
    ),
  );
  await using sender = await connect({
    port: server.addr.port,
    secret: SECRET,
  });
  await sender.trigger("after");
  assert.equal(await waiter.wait("after", 5_000), true); // "sneaky" was never delivered before it
  assert.equal(await waiter.next("sneaky", { timeoutMs: 0 }), false);
  const state = await Promise.race([server.finished, Promise.resolve("up")]);
  assert.equal(state, "up"); // the server did not quit
});

Deno.test("auth: a peer with a wrong proof receives nothing but the e line", async () => {
  await using server = await protectedServer();
  await using sender = await connect({
    port: server.addr.port,
    secret: SECRET,
  });
  await using peer = await RawPeer.connect(server.addr.port);
  const hello = await provingHello(await peer.readLine(), { secret: "nope" });
  await sender.trigger("before");
  await peer.send(`${hello}\nF1\n`);
  await sender.trigger("during");
  assert.deepEqual(await peer.untilClosed(), [FAILED]);
});

Deno.test("auth: the e line reaches a peer that keeps sending after it was refused", async () => {
  await using server = await protectedServer();
  await using peer = await RawPeer.connect(server.addr.port);
  await peer.readLine();
  const flood = "Tflood\n".repeat(20_000); // 140 kB the server reads and ignores while closing
  const sending = peer.send(`H1.2\n${flood}`).catch(() => {});
  assert.deepEqual(await peer.untilClosed(), [REQUIRED]);
  await sending;
});

Deno.test("auth: a captured handshake replayed on a new connection is refused", async () => {
  await using server = await protectedServer();
  await using first = await RawPeer.connect(server.addr.port);
  const captured = await provingHello(await first.readLine());
  await first.send(captured + "\n");
  assert.match(String(await first.readLine()), /^H1\.2;h[0-9a-f]{64}$/);
  assert.deepEqual(await first.roundTrip(), []); // authenticated: the server answers

  await using replay = await RawPeer.connect(server.addr.port);
  assert.match(String(await replay.readLine()), PROTECTED_HELLO); // a fresh nonce
  await replay.send(captured + "\nQt\n");
  assert.deepEqual(await replay.untilClosed(), [FAILED]);
  assert.deepEqual(await first.roundTrip("still"), []);
});

Deno.test("auth: a proof made for the server's role is refused as a client's", async () => {
  await using server = await protectedServer();
  await using peer = await RawPeer.connect(server.addr.port);
  const hello = await provingHello(await peer.readLine(), { role: "server" });
  await peer.send(hello + "\n");
  assert.deepEqual(await peer.untilClosed(), [FAILED]);
});

Deno.test("auth: a peer that sends back the server's own nonce is refused", async () => {
  await using server = await protectedServer();
  await using peer = await RawPeer.connect(server.addr.port);
  const nonce = String(await peer.readLine()).match(PROTECTED_HELLO)?.[1];
  await peer.send(`H1.2;n${nonce};h${"0".repeat(64)}\n`);
  assert.deepEqual(await peer.untilClosed(), [FAILED]);
});

Deno.test("auth: malformed nonces and proofs are refused", async () => {
  await using server = await protectedServer();
  for (
    const options of [
      `n${"a".repeat(63)};h${"0".repeat(64)}`,
      `n${"A".repeat(64)};h${"0".repeat(64)}`,
      `n${"a".repeat(64)}`,
      `h${"0".repeat(64)}`,
      `n${"a".repeat(64)};h${"0".repeat(65)}`,
    ]
  ) {
    await using peer = await RawPeer.connect(server.addr.port);
    await peer.readLine();
    await peer.send(`H1.2;${options}\n`);
    assert.deepEqual(await peer.untilClosed(), [FAILED], options);
  }
});

Deno.test("auth: authenticated clients trigger, wait and quit", async () => {
  await using logs = await captureLogs();
  await using server = await protectedServer();
  await using waiter = await connect({
    port: server.addr.port,
    secret: new TextEncoder().encode(SECRET),
    receive: true,
  });
  await using sender = await connect({
    port: server.addr.port,
    secret: SECRET,
  });
  await waiter.flush();
  await sender.trigger("build_done");
  assert.equal(await waiter.wait("build_done", 5_000), true);
  await logs.waitFor(/INFO Authenticated 127\.0\.0\.1:\d+$/);
  await sender.quit("t");
  assert.match(await server.finished, /^quit requested by 127\.0\.0\.1:\d+$/);
});

Deno.test("auth: with remoteQuit false even an authenticated quit is refused and logged", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({
    port: 0,
    name: "t",
    secret: SECRET,
    remoteQuit: false,
  });
  await using client = await connect({
    port: server.addr.port,
    secret: SECRET,
  });
  await assert.rejects(
    client.quit("t"),
    (error) =>
      error instanceof EmError && error.code === "refused" &&
      error.message ===
        `Cannot quit "127.0.0.1:${server.addr.port}": Quit over the network is disabled`,
  );
  await logs.waitFor(
    /WARNING Dropped a message from 127\.0\.0\.1:\d+: refused quit: quit over the network is disabled$/,
  );
  assert.equal(server.connectionCount, 1);
});

Deno.test("auth: without a secret remoteQuit false refuses quit too", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({
    port: 0,
    name: "t",
    remoteQuit: false,
  });
  await using peer = await RawPeer.greeted(server.addr.port);
  await peer.send("Qt\n");
  await peer.roundTrip();
  assert.equal(
    logs.matching(/refused quit: quit over the network is disabled$/).length,
    1,
  );
  assert.equal(server.connectionCount, 1);
});

/** A fake server on port 0: sends `hello`, then answers the client's first line with `answer`. */
function fakeServer(
  hello: (nonce: string) => string,
  answer: (clientHello: string, nonce: string) => Promise<string> | string,
  options: { closeAfterAnswer?: boolean } = {},
) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    await using peer = RawPeer.wrap(conn);
    const nonce = newNonce();
    await peer.send(hello(nonce) + "\n");
    const line = await peer.readLine();
    if (line !== null) await peer.send(await answer(line, nonce) + "\n");
    if (!options.closeAfterAnswer) await peer.untilClosed();
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      await serving;
      listener.close();
    },
  };
}

Deno.test("auth: a server whose proof is wrong is refused by the client (mutual)", async () => {
  await using server = await fakeServer(
    (nonce) => `H1.2;n${nonce}`,
    () => `H1.2;h${"0".repeat(64)}`,
  );
  const error = await rejection(connect({ port: server.port, secret: SECRET }));
  assert.equal(error.code, "auth");
  assert.equal(
    error.message,
    `Cannot authenticate "127.0.0.1:${server.port}": its proof is wrong (it does not know the shared secret)`,
  );
});

Deno.test("auth: a server echoing the client's proof is refused (no reflection)", async () => {
  await using server = await fakeServer(
    (nonce) => `H1.2;n${nonce}`,
    (hello) => `H1.2;h${hello.match(/;h([0-9a-f]+)/)?.[1]}`,
  );
  const error = await rejection(connect({ port: server.port, secret: SECRET }));
  assert.equal(error.code, "auth");
});

Deno.test("auth: a client with a secret refuses a server that does not ask for one", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const error = await rejection(
    connect({ port: server.addr.port, secret: SECRET }),
  );
  assert.equal(error.code, "auth");
  assert.equal(
    error.message,
    `Cannot authenticate "127.0.0.1:${server.addr.port}": it does not ask for a shared secret, so it cannot prove it knows ours`,
  );
});

Deno.test("auth: an empty secret is a TypeError, for the server and the client", async () => {
  assert.throws(
    () => startServer({ port: 0, name: "t", secret: "" }),
    TypeError,
  );
  await assert.rejects(connect({ port: 1, secret: "" }), TypeError);
});

Deno.test("auth: a refused peer that neither reads nor closes is cut off after CLOSE_LINGER_MS", async () => {
  await using server = await protectedServer();
  await using peer = await RawPeer.connect(server.addr.port);
  await peer.send("H1.1\n"); // and never reads: the server must not wait for it forever
  const deadline = Date.now() + CLOSE_LINGER_MS + 5_000;
  while (server.connectionCount > 0) {
    assert.ok(Date.now() < deadline, "the refused connection was never closed");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

Deno.test("auth: an e line before the server closes becomes the client's closed reason", async () => {
  await using server = fakeServer(
    () => "H1.2",
    () => "elimit,Too many messages",
    { closeAfterAnswer: true },
  );
  await using client = await connect({ port: server.port });
  const reason = await client.closed;
  assert.equal(reason.code, "refused");
  assert.equal(
    reason.message,
    `Refused by "127.0.0.1:${server.port}": Too many messages`,
  );
});

Deno.test("auth: an e line during the handshake fails the connect with its code", async () => {
  await using server = fakeServer(
    (nonce) => `H1.2;n${nonce}`,
    () => "eauth,Go away",
  );
  const error = await rejection(connect({ port: server.port, secret: SECRET }));
  assert.equal(error.code, "auth");
  assert.equal(error.message, `Refused by "127.0.0.1:${server.port}": Go away`);
});
