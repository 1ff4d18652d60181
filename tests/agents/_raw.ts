/** A raw protocol peer for tests: writes lines, reads lines, nothing else. */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A raw TCP peer speaking lines. */
export interface RawPeer extends AsyncDisposable {
  /** Writes text as is. */
  write(text: string): Promise<void>;
  /** The next line (without its line end); rejects after `timeoutMs` or at end of stream. */
  line(timeoutMs?: number): Promise<string>;
  /** Lines read so far and not taken. */
  readonly buffered: string[];
  /** Resolves true once the server closed the connection. */
  closed(timeoutMs?: number): Promise<boolean>;
}

/** Connects to 127.0.0.1:port and sends `hello` (e.g. "H1.1\nF1\n"). */
export async function rawPeer(port: number, hello: string): Promise<RawPeer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const lines: string[] = [];
  let carry = "";
  let ended = false;
  let wake: (() => void) | undefined;
  const reading = (async () => {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const count = await conn.read(buffer);
        if (count === null) break;
        carry += decoder.decode(buffer.subarray(0, count), { stream: true });
        const parts = carry.split("\n");
        carry = parts.pop()!;
        lines.push(...parts);
        wake?.();
      }
    } catch { /* closed */ }
    ended = true;
    wake?.();
  })();
  const until = async (
    ready: () => boolean,
    timeoutMs: number,
    what: string,
  ) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      while (!ready()) {
        await new Promise<void>((resolve, reject) => {
          wake = resolve;
          timer = setTimeout(
            () => reject(new Error(`No ${what} within ${timeoutMs} ms`)),
            timeoutMs,
          );
        });
        clearTimeout(timer);
      }
    } finally {
      clearTimeout(timer);
      wake = undefined;
    }
  };
  const peer: RawPeer = {
    buffered: lines,
    async write(text) {
      const bytes = encoder.encode(text);
      let offset = 0;
      while (offset < bytes.length) {
        offset += await conn.write(bytes.subarray(offset));
      }
    },
    async line(timeoutMs = 5_000) {
      await until(() => lines.length > 0 || ended, timeoutMs, "line");
      if (lines.length === 0) throw new Error("Connection ended");
      return lines.shift()!;
    },
    async closed(timeoutMs = 5_000) {
      await until(() => ended, timeoutMs, "close");
      return true;
    },
    async [Symbol.asyncDispose]() {
      try {
        conn.close();
      } catch { /* already closed */ }
      await reading;
    },
  };
  await peer.write(hello);
  return peer;
}
