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

/**
 * Writes the script importing mod.ts from `base` into `dir` and runs it there without deno.json,
 * allowed to import from `host`; asserts that the trigger woke the waiter.
 */
async function assertRunsByUrl(
  dir: string,
  base: string,
  host: string,
  flags: string[] = [],
): Promise<void> {
  await Deno.writeTextFile(`${dir}/main.ts`, script(base));
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-config",
      "--no-lock",
      ...flags,
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
}

Deno.test("mod.ts: works when imported by http URL from a directory without deno.json", async () => {
  const served: string[] = [];
  const prefix = crypto.randomUUID();
  await using http = serveRepository(prefix, served);
  const host = `127.0.0.1:${http.addr.port}`;
  const dir = await Deno.makeTempDir();
  try {
    await assertRunsByUrl(dir, `http://${host}/${prefix}`, host);
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

/** The README's one-liner that serves the checkout (after `<!-- serve-checkout -->`). */
async function readmeOneLiner(): Promise<string> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const after = readme.split("<!-- serve-checkout -->")[1];
  const line = after?.match(/```sh\n([^\n]+)\n```/)?.[1];
  assert.ok(line, "README has no serve-checkout one-liner");
  return line;
}

const NODE_MISSING = await (async () => {
  try {
    const { success } = await new Deno.Command("node", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? undefined : "node --version failed";
  } catch {
    return "node is not installed (the Quick start needs it)";
  }
})();

Deno.test({
  name:
    "mod.ts: the README's one-liner serves the checkout so that an import by URL works",
  ignore: NODE_MISSING !== undefined || Deno.build.os === "windows",
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close(); // the one-liner binds it next
    const server = new Deno.Command("sh", {
      args: ["-c", `exec ${await readmeOneLiner()}`], // exec: the signal reaches node
      cwd: ROOT,
      env: { PORT: String(port) },
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = server.stdout.getReader();
    const dir = await Deno.makeTempDir();
    try {
      const { value } = await reader.read();
      assert.equal(
        new TextDecoder().decode(value),
        `serving http://127.0.0.1:${port}/mod.ts\n`,
      );
      const host = `127.0.0.1:${port}`;
      // this port may have served something else before: fetch again
      await assertRunsByUrl(dir, `http://${host}`, host, [
        `--reload=http://${host}`,
      ]);
    } finally {
      server.kill("SIGTERM");
      await server.status;
      while (!(await reader.read()).done) { /* drain */ }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
