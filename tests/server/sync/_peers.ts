/** Raw 1.2 peers for the sync wire tests. */
import { RawPeer } from "../../_helpers/wire.ts";

/** A peer that said hello with 1.2 (and F1 when `receive`), with its hello read. */
export async function syncPeer(
  port: number,
  receive = false,
): Promise<RawPeer> {
  const peer = await RawPeer.greeted(port, receive ? "H1.2\nF1" : "H1.2");
  return peer;
}

/** Sends `line`, then a ping; returns what the server sent before the ping's answer. */
export async function ask(peer: RawPeer, line: string): Promise<string[]> {
  await peer.send(line + "\n");
  return await peer.roundTrip();
}

/** The token of a `g<id>,<token>` answer. */
export function tokenOf(line: string | undefined | null): string {
  const match = /^g[^,]+,([A-Za-z0-9_-]+)$/.exec(line ?? "");
  if (match === null) throw new Error(`Not a grant: ${line}`);
  return match[1]!;
}

/** Waits (bounded, polling each macrotask) until `done()` holds. */
export async function until(
  done: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
