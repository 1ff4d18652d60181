// The server under fuzz, run as its own process with --v8-flags=--expose-gc so that its heap can be
// measured after a full garbage collection (a test process cannot collect garbage on demand).
// An argument, if any, is the server's shared secret. Prints "port N", then answers each line on stdin: "heap" → one JSON line
// {"heapUsed":bytes,"connections":n} after collecting garbage; "quit" → stops and exits.
import { defineAgent, startServer } from "../../server/mod.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");

const echo = defineAgent({
  api: "fuzz",
  verbs: { echo: (req) => req.args },
});
const server = await startServer({
  port: 0,
  name: "fuzz",
  agents: [echo],
  helloTimeoutMs: 5_000,
  ...(Deno.args[0] === undefined ? {} : { secret: Deno.args[0] }),
});
const encoder = new TextEncoder();
const say = (line: string) =>
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
say(`port ${server.addr.port}`);

let carry = "";
const decoder = new TextDecoder();
for await (const chunk of Deno.stdin.readable) {
  carry += decoder.decode(chunk, { stream: true });
  let end;
  while ((end = carry.indexOf("\n")) !== -1) {
    const command = carry.slice(0, end);
    carry = carry.slice(end + 1);
    if (command === "quit") {
      await server.close("fuzz over");
      Deno.exit(0);
    }
    // Several rounds: a weak map's entries and finalizers need more than one collection.
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const { heapUsed } = Deno.memoryUsage();
    say(JSON.stringify({ heapUsed, connections: server.connectionCount }));
  }
}
