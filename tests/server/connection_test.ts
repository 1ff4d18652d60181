// Connection's write path on a real TCP pair: a frame the socket has room for is written before
// send() returns (a synchronous send(2), server/send_now.ts), and what the socket has no room for
// still goes out whole and in order, or closes the connection with the reason.
import assert from "node:assert/strict";
import { Connection } from "../../server/connection.ts";
import { sendableFd } from "../../server/send_now.ts";
import { until } from "../_helpers/until.ts";

const LINUX = Deno.build.os === "linux";

/** A server-side Connection and its peer's socket on 127.0.0.1. */
async function pair(maxQueuedBytes = 1 << 24) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const peer = await Deno.connect({ hostname: "127.0.0.1", port });
  const conn = await listener.accept();
  listener.close();
  const connection = new Connection(conn, maxQueuedBytes);
  const reading = connection.readLoop(() => {}); // sees the peer's end, as a session's does
  return {
    conn,
    connection,
    peer,
    async [Symbol.asyncDispose]() {
      connection.close("test over");
      try {
        peer.close();
      } catch { /* closed by the test */ }
      await reading;
    },
  };
}

/** Reads from `peer` until `length` bytes came (or the end). */
async function readBytes(peer: Deno.Conn, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const count = await peer.read(bytes.subarray(filled));
    if (count === null) break;
    filled += count;
  }
  return bytes.subarray(0, filled);
}

Deno.test({
  name:
    "Connection: a frame the socket has room for is written before send() returns",
  ignore: !LINUX, // the synchronous send is Linux's (elsewhere every write is Deno's async op)
  async fn() {
    await using t = await pair();
    assert.notEqual(sendableFd(t.conn), -1, "the test task grants --allow-ffi");
    const frame = new TextEncoder().encode("Tone\nTtwo\n");
    t.connection.send(frame);
    assert.equal(t.connection.queuedBytes, 0, "nothing left queued: written");
    t.connection.send(frame);
    assert.equal(t.connection.queuedBytes, 0);
    assert.deepEqual(
      await readBytes(t.peer, 2 * frame.length),
      new Uint8Array([...frame, ...frame]),
    );
  },
});

Deno.test("Connection: to a peer that does not read, frames past the socket's room wait and then arrive whole and in order", async () => {
  await using t = await pair();
  const FRAME_BYTES = 16 * 1024, MAX_FRAMES = 16_384; // a bound: 256 MB
  let frames = 0;
  const sendNext = () =>
    t.connection.send(new Uint8Array(FRAME_BYTES).fill(frames++ & 0xff));
  while (t.connection.queuedBytes === 0 && frames < MAX_FRAMES) sendNext();
  assert.ok(t.connection.queuedBytes > 0, "the socket filled: a frame waits");
  for (let i = 0; i < 8; i++) sendNext(); // more behind it, in the queue
  const bytes = await readBytes(t.peer, FRAME_BYTES * frames);
  assert.equal(bytes.length, FRAME_BYTES * frames);
  for (let i = 0; i < frames; i++) {
    const frame = bytes.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES);
    assert.ok(frame.every((byte) => byte === (i & 0xff)), `frame ${i}`);
  }
  await until(() => t.connection.queuedBytes === 0, "the last write done"); // its promise may lag the read
  assert.equal(t.connection.isClosed, false);
});

Deno.test("Connection: a send to a peer that is gone closes the connection with the write's error", async () => {
  await using t = await pair();
  t.peer.close(); // its kernel answers our next bytes with a reset
  const frame = new TextEncoder().encode("Tgone\n");
  for (let i = 0; i < 10_000 && !t.connection.isClosed; i++) {
    t.connection.send(frame);
    await new Promise((resolve) => setTimeout(resolve, 0)); // let the reset arrive
  }
  assert.equal(t.connection.isClosed, true);
  assert.match(t.connection.closeReason!.reason, /^Cannot write: /);
});

Deno.test("Connection: closeAfterFlush writes what is queued and its last frame, then the peer reads the end", async () => {
  await using t = await pair();
  const encoder = new TextEncoder();
  t.connection.send(encoder.encode("Tfirst\n"));
  t.connection.closeAfterFlush(encoder.encode("e1,bye\n"), "test done");
  const bytes = await readBytes(t.peer, 1024);
  assert.equal(new TextDecoder().decode(bytes), "Tfirst\ne1,bye\n");
  t.peer.close(); // the linger ends when the peer closes too
  assert.equal((await t.connection.closed).reason, "test done");
});

Deno.test({
  name:
    "Connection: after close, a send writes nothing, even when the descriptor number names a new socket",
  ignore: !LINUX,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // opened before the close
    const { port } = listener.addr as Deno.NetAddr;
    const opened: Deno.Conn[] = [];
    try {
      const t = await pair();
      const fd = sendableFd(t.conn);
      assert.notEqual(fd, -1, "the test task grants --allow-ffi");
      const clients: Deno.Conn[] = []; // connected first: accepting them makes the new descriptors
      for (let i = 0; i < 8; i++) {
        clients.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      }
      opened.push(...clients);
      await t[Symbol.asyncDispose](); // closes the connection: its descriptor number is free
      let reused: Deno.Conn | undefined; // the accepted socket that got the old number
      for (let i = 0; i < clients.length; i++) { // an accepted socket takes the lowest free number
        const accepted = await listener.accept();
        opened.push(accepted);
        if (sendableFd(accepted) === fd) reused = accepted;
      }
      assert.ok(reused, `descriptor ${fd} was given to a new socket`);
      const client = clients[opened.indexOf(reused) - clients.length];
      t.connection.send(new TextEncoder().encode("Tleak\n")); // closed: must go nowhere
      await reused.write(new TextEncoder().encode("mark\n"));
      assert.equal(
        new TextDecoder().decode(await readBytes(client!, 5)),
        "mark\n",
      );
    } finally {
      listener.close();
      for (const conn of opened) conn.close();
    }
  },
});
