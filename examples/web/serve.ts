/**
 * An emd with the speed agent and an HTTP listener that also serves the page in this folder:
 * `deno run --allow-net=127.0.0.1 --allow-read examples/web/serve.ts`, then open
 * http://127.0.0.1:8080/speed.html and, in a shell, `emwait 127.0.0.1 4000 door_bell 60000`.
 * @module
 */
import { startServer } from "../../mod.ts";
import { speedAgent } from "../speed.ts";

const page = await fetch(new URL("./index.html", import.meta.url)).then((r) =>
  r.text()
);
const server = await startServer({
  name: "em",
  port: 4000,
  agents: [speedAgent()],
  http: {
    port: 8080,
    handlers: [
      (request) =>
        new URL(request.url).pathname === "/speed.html"
          ? new Response(page, {
            headers: { "Content-Type": "text/html; charset=utf-8" },
          })
          : undefined,
    ],
  },
});
const { hostname, port } = server.httpAddr!;
// deno-lint-ignore no-console
console.log(
  `open http://${hostname}:${port}/speed.html (em on ${server.addr.port})`,
);
await server.finished;
