/**
 * Deno's floor for a receiving connection: a bare server that accepts, writes a hello line and
 * keeps one pending read per socket (128 bytes, emd's first read buffer, growing ×4 when a read
 * fills it, as emd's does), with no protocol beyond this: a socket that sends an `F1` line becomes
 * a receiver, and a read holding lines that begin with `T` is written, from its first such line
 * on and as it came, to every receiver with one write each (one in flight per socket, later ones
 * wait, as in emd), written at once with emd's synchronous `send(2)` where the process may use it
 * (`--allow-ffi` on Linux: server/send_now.ts), else with `Deno.Conn.write`. That is the least a
 * Deno server can do per idle receiver and per delivery, so emd's figures are judged beside it
 * (memory per idle connection, time for one trigger to reach them all). Prints "listening on
 * HOST:PORT" like emd; `PORT` (first argument) defaults to 0, any free port.
 * @module
 */
import { sendableFd, sendNow } from "../server/send_now.ts";

const listener = Deno.listen({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0] ?? 0),
});
const { hostname, port } = listener.addr as Deno.NetAddr;
Deno.stdout.writeSync(
  new TextEncoder().encode(`listening on ${hostname}:${port}\n`),
);
const hello = new TextEncoder().encode("H1.1\n");
/** Receivers, each with what waits for its write in flight (undefined: none in flight). */
const receivers = new Map<Deno.Conn, Uint8Array[] | undefined>();
const LF = 0x0a, T = 0x54;
const FLAGS_ON = /(?:^|[\r\n])F1[\r\n]/;
const decoder = new TextDecoder();

/** One write in flight per socket, as in emd: later frames wait for it. */
function send(conn: Deno.Conn, frame: Uint8Array): void {
  if (!receivers.has(conn)) return;
  const waiting = receivers.get(conn);
  if (waiting !== undefined) return void waiting.push(frame);
  const fd = sendableFd(conn);
  const sent = fd === -1 ? -1 : sendNow(fd, frame);
  if (sent === frame.length) return;
  if (sent > 0) frame = frame.subarray(sent);
  receivers.set(conn, []);
  conn.write(frame).then(() => {
    const next = receivers.get(conn);
    if (next === undefined) return;
    receivers.set(conn, undefined);
    for (const frame of next) send(conn, frame);
  }, () => receivers.delete(conn));
}

/** Where the first line that begins with `T` starts in `chunk`, or -1. */
function firstTrigger(chunk: Uint8Array): number {
  if (chunk[0] === T) return 0;
  for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
    if (chunk[lf + 1] === T) return lf + 1;
  }
  return -1;
}

async function serve(conn: Deno.Conn): Promise<void> {
  let buffer = new Uint8Array(128);
  try {
    await conn.write(hello);
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) break;
      const chunk = buffer.subarray(0, count);
      if (FLAGS_ON.test(decoder.decode(chunk)) && !receivers.has(conn)) {
        receivers.set(conn, undefined);
      }
      const start = firstTrigger(chunk);
      if (start !== -1) {
        const frame = chunk.slice(start);
        for (const receiver of receivers.keys()) send(receiver, frame);
      }
      if (count === buffer.length && count < 65_536) {
        buffer = new Uint8Array(count * 4);
      }
    }
  } catch { /* reset */ }
  receivers.delete(conn);
  conn.close();
}

for await (const conn of listener) void serve(conn);
