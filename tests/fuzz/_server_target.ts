// The server target of `deno task fuzz`: each case is one connection to a server process of its
// own (tests/server/_fuzz_server.ts) that writes a stream in pieces, half-closes and must then be
// closed by the server within CLOSE_DEADLINE_MS. Between batches a well-behaved client must still
// get its trigger.
import { fileURLToPath } from "node:url";
import { connect, type EmClient } from "../../client/mod.ts";
import { startChildServer } from "../_helpers/child_server.ts";
import {
  makeStream,
  shrinkStream,
  type StreamCase,
  type Target,
} from "./_targets.ts";

const CLOSE_DEADLINE_MS = 10_000;

/** The server target, with its server process and well-behaved clients; dispose to stop them. */
export interface ServerTarget extends Target<StreamCase>, AsyncDisposable {
  /** Undefined while the server still serves a well-behaved client, else what went wrong. */
  health(tag: string): Promise<string | undefined>;
}

/** Starts the server process and the well-behaved clients. */
export async function startServerTarget(): Promise<ServerTarget> {
  const server = await startChildServer(
    fileURLToPath(new URL("../server/_fuzz_server.ts", import.meta.url)),
  );
  const waiter: EmClient = await connect({ port: server.port, receive: true });
  const sender: EmClient = await connect({ port: server.port });
  await waiter.flush();
  return {
    name: "server",
    make: makeStream,
    check: (c) => runCase(server.port, c),
    shrink: shrinkStream,
    async health(tag) {
      try {
        await sender.trigger(`fuzz_${tag}`);
        if (!await waiter.wait(`fuzz_${tag}`, CLOSE_DEADLINE_MS)) {
          return `a well-behaved client did not get trigger fuzz_${tag}`;
        }
      } catch (error) {
        return `a well-behaved client failed: ${(error as Error).message}`;
      }
    },
    async [Symbol.asyncDispose]() {
      await waiter.close();
      await sender.close();
      await server[Symbol.asyncDispose]();
    },
  };
}

async function runCase(
  port: number,
  c: StreamCase,
): Promise<string | undefined> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = Uint8Array.from(c.bytes);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let late = false;
  try {
    let start = 0;
    for (const cut of [...c.cuts, bytes.length]) {
      const end = Math.max(start, cut);
      for (let at = start; at < end;) {
        at += await conn.write(bytes.subarray(at, end));
      }
      start = end;
    }
    await conn.closeWrite();
    timer = setTimeout(() => {
      late = true;
      conn.close();
    }, CLOSE_DEADLINE_MS);
    const buffer = new Uint8Array(64 * 1024);
    while ((await conn.read(buffer)) !== null) { /* discard */ }
  } catch {
    /* the server closed first (a reset): an expected end */
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the deadline */ }
  }
  return late
    ? `the server did not close within ${CLOSE_DEADLINE_MS} ms after the peer's end`
    : undefined;
}
