// A server script run as its own process (e.g. with --v8-flags=--expose-gc, so that its heap can be
// measured after real collections), spoken to over stdin/stdout: it prints "port N" first, then
// answers each command line with one JSON line; "quit" stops it.
import assert from "node:assert/strict";

const encoder = new TextEncoder();

/** A running child server. */
export interface ChildServer extends AsyncDisposable {
  readonly port: number;
  /** Sends one command line and returns its JSON answer. */
  ask<T>(command: string): Promise<T>;
}

/** Starts `script` with `deno run --v8-flags=--expose-gc PERMISSIONS script ARGS`. */
export async function startChildServer(
  script: string,
  args: readonly string[] = [],
  permissions: readonly string[] = ["--allow-net=127.0.0.1"],
): Promise<ChildServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      ...permissions,
      script,
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream())
    .pipeThrough(splitLines()).getReader();
  const line = async () => {
    const { value, done } = await lines.read();
    if (done) throw new Error(`The server ${script} exited`);
    return value;
  };
  const port = Number((await line()).replace(/^port /, ""));
  return {
    port,
    async ask<T>(command: string): Promise<T> {
      await writer.write(encoder.encode(command + "\n"));
      return JSON.parse(await line());
    },
    async [Symbol.asyncDispose]() {
      await writer.write(encoder.encode("quit\n")).catch(() => {});
      await writer.close().catch(() => {});
      while (!(await lines.read()).done) { /* drain */ }
      assert.equal((await child.status).code, 0, "the server exits cleanly");
    },
  };
}

function splitLines(): TransformStream<string, string> {
  let carry = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (carry + chunk).split("\n");
      carry = parts.pop()!;
      for (const part of parts) controller.enqueue(part);
    },
  });
}
