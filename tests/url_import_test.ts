import { fileURLToPath } from "node:url";
// mod.ts works when imported by URL: the repository is served over HTTP on 127.0.0.1, and a script
// in a temporary directory without deno.json imports mod.ts by http URL, starts a server, connects,
// triggers and waits. Every import in mod.ts's graph must then be relative or fully qualified.
import assert from "node:assert/strict";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TYPES: Readonly<Record<string, string>> = {
  ".ts": "application/typescript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
};

/**
 * Serves the repository under `/<prefix>/`. A fresh prefix per run keeps Deno's cache of remote
 * modules (shared by every run on this machine) from answering for a port used before.
 */
function serveRepository(
  prefix: string,
  served: string[],
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const url = decodeURIComponent(new URL(request.url).pathname);
      if (!url.startsWith(`/${prefix}/`)) {
        return new Response("not served", { status: 404 });
      }
      const path = url.slice(prefix.length + 2);
      const type = TYPES[path.slice(path.lastIndexOf("."))];
      if (type === undefined || path.split("/").includes("..")) {
        return new Response("not served", { status: 404 });
      }
      try {
        const body = await Deno.readFile(ROOT + path);
        served.push(path);
        return new Response(body, { headers: { "content-type": type } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
}

const script = (base: string) =>
  `import { connect, startServer } from "${base}/mod.ts";

await using server = await startServer({ port: 0, name: "by_url" });
await using waiter = await connect({ port: server.addr.port, receive: true });
await using sender = await connect({ port: server.addr.port });
await waiter.flush(); // the server has processed the receive flag
await sender.trigger("imported");
console.log("woken:", await waiter.wait("imported", 10_000));
`;

Deno.test("mod.ts: works when imported by http URL from a directory without deno.json", async () => {
  const served: string[] = [];
  const prefix = crypto.randomUUID();
  await using http = serveRepository(prefix, served);
  const host = `127.0.0.1:${http.addr.port}`;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      script(`http://${host}/${prefix}`),
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-config",
        "--no-lock",
        "--allow-net=127.0.0.1",
        `--allow-import=${host}`,
        "main.ts",
      ],
      cwd: dir,
      stdin: "null",
    }).output();
    const decoder = new TextDecoder();
    assert.deepEqual({
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    }, { code: 0, stdout: "woken: true\n", stderr: "" });
    for (
      const path of [
        "mod.ts",
        "protocol/mod.ts",
        "client/mod.ts",
        "server/mod.ts",
      ]
    ) {
      assert.ok(served.includes(path), `${path} was not fetched over HTTP`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
