// The server under fuzz, run as its own process with --v8-flags=--expose-gc so that its heap can be
// measured after a full garbage collection (a test process cannot collect garbage on demand).
// An argument, if any, is the server's shared secret. Prints "port N", then answers each line on stdin: "heap" → one JSON line
// {"heapUsed":bytes,"connections":n} after collecting garbage; "quit" → stops and exits.
import { defineAgent, startServer } from "../../server/mod.ts";
import { answerCommands } from "../_helpers/child_commands.ts";

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
await answerCommands(
  server.addr.port,
  (_, heapUsed) => ({ heapUsed, connections: server.connectionCount }),
  () => server.close("fuzz over"),
);
