/**
 * A synchronous `send(2)` on the descriptor of a Deno TCP socket, for {@link Connection}'s writes.
 *
 * Why: each `Deno.Conn.write` is an asynchronous op that tokio polls, and tokio's cooperative
 * budget lets 128 I/O polls through per turn of the event loop; the rest wait for later turns. A
 * frame fanned out to 10 000 receivers therefore takes about 80 turns (150–250 ms here), where a
 * loop of `send(2)` calls does the same writes in one turn (50–80 ms, like Redis). See "One trigger
 * to 10 000 receivers" in docs/PERFORMANCE.md.
 *
 * Used only where it is sure to be right: on Linux, when the process already holds the FFI
 * permission (`--allow-ffi`, asked for by `deno task start` and the compiled binaries; never
 * prompted for), and on a socket whose descriptor Deno exposes. Anywhere else
 * {@link sendableFd} says -1 and a connection writes through `Deno.Conn.write` as before.
 * @module
 */

const MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000; // Linux values: never block, never SIGPIPE
const FLAGS = MSG_DONTWAIT | MSG_NOSIGNAL;

type Send = (
  fd: number,
  bytes: Uint8Array,
  length: number,
  flags: number,
) => number;

const send: Send | null = loadSend(); // at load: a library opened later would count as a test's leak
let fdSymbol: symbol | null | undefined; // Deno's own key of a socket's descriptor

/**
 * The descriptor of `conn` when bytes can be sent on it synchronously ({@link sendNow}), else -1:
 * not Linux, no FFI permission, libc not loadable, or not a socket of Deno's.
 */
export function sendableFd(conn: Deno.Conn): number {
  if (send === null) return -1;
  if (fdSymbol === undefined) {
    fdSymbol = Object.getOwnPropertySymbols(conn).find((symbol) =>
      symbol.description === "Deno.internal.fd"
    ) ?? null;
  }
  if (fdSymbol === null) return -1;
  const fd = (conn as unknown as Record<symbol, unknown>)[fdSymbol];
  return typeof fd === "number" && Number.isInteger(fd) && fd >= 0 ? fd : -1;
}

/**
 * Sends `bytes` on `fd` now, without waiting: how many were taken (possibly fewer than all), or -1
 * when none were (the socket's buffer is full, or the socket failed: write the asynchronous way,
 * which waits for room or reports the error). Only for a descriptor from {@link sendableFd} that
 * is still open.
 */
export function sendNow(fd: number, bytes: Uint8Array): number {
  return send!(fd, bytes, bytes.byteLength, FLAGS);
}

function loadSend(): Send | null {
  if (Deno.build.os !== "linux") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return null;
    }
    const libc = Deno.dlopen("libc.so.6", {
      send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
    });
    return libc.symbols.send as unknown as Send; // a usize takes a number as well as a bigint
  } catch {
    return null; // no glibc (e.g. musl), or FFI refused: write the asynchronous way
  }
}
