// The session's side of authentication with a proof check that never ends: what a peer sends
// meanwhile is held, bounded, and never handled.
import assert from "node:assert/strict";
import { DEFAULT_LIMITS } from "../../protocol/mod.ts";
import type { Authenticator } from "../../server/auth.ts";
import { Connection } from "../../server/connection.ts";
import { MAX_HELD_BYTES, Session } from "../../server/session.ts";

/** A session on a real TCP pair whose proof check never settles; `handled` counts dispatches. */
async function pendingSession() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const peer = await Deno.connect({ hostname: "127.0.0.1", port });
  const conn = await listener.accept();
  listener.close();
  let handled = 0;
  const never = new Promise<never>(() => {});
  const host = {
    limits: DEFAULT_LIMITS,
    dispatch: () => (handled++, true),
    fanOut: () => (handled++, 0),
    setReceiving: () => void handled++,
    auth: { check: () => never } as unknown as Authenticator,
  };
  const session = new Session(new Connection(conn, 1 << 20), host);
  session.challenge = "a".repeat(64);
  const running = session.run();
  return {
    peer,
    session,
    handled: () => handled,
    async [Symbol.asyncDispose]() {
      session.connection.close("test over");
      try {
        peer.close();
      } catch { /* closed by the test */ }
      await running;
    },
  };
}

async function writeAll(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

Deno.test("auth session: past MAX_HELD_BYTES while the proof is checked, the peer is cut off", async () => {
  await using pending = await pendingSession();
  const line = "Tqueued\n";
  const lines = Math.ceil(MAX_HELD_BYTES / line.length) + 1;
  const writing = writeAll(pending.peer, "H1.2\n" + line.repeat(lines))
    .catch(() => {}); // the server may close before it has read everything
  const { reason, fault } = await pending.session.connection.closed;
  await writing;
  assert.equal(
    reason,
    `Protocol error: over ${MAX_HELD_BYTES} bytes sent before authentication`,
  );
  assert.equal(fault, true);
  assert.equal(pending.handled(), 0);
});
