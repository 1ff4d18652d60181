// emstat as a real process against an emd: the report, --json, --watch, --events, failures.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { connect, startServer } from "../../mod.ts";
import type { Counters } from "../../server/metrics/counters.ts";
import {
  closedPort,
  RUN_FLAGS,
  runTool,
  startEmd,
  toolEnv,
} from "../_helpers/cli.ts";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const decoder = new TextDecoder();

/** Waits (bounded) until `condition` holds. */
async function until(
  condition: () => boolean,
  what: string,
  timeoutMs = 15_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, `not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** emstat in the background, its stdout readable as it comes. */
function spawnEmstat(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, MAIN, "emstat", ...args],
    env: toolEnv(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = { stdout: "", stderr: "" };
  const pump = async (name: "stdout" | "stderr") => {
    for await (const chunk of child[name]) {
      text[name] += decoder.decode(chunk, { stream: true });
    }
  };
  const done = Promise.all([pump("stdout"), pump("stderr"), child.status]);
  return {
    child,
    text,
    async finished() {
      const [, , status] = await done;
      return status.code;
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await done;
    },
  };
}

Deno.test("emstat: bad arguments exit 64 with the reason", async () => {
  for (
    const [args, reason] of [
      [
        ["--watch", "5", "h", "1"],
        'invalid --watch "5": use milliseconds, at least 10',
      ],
      [
        ["--watch", "100", "--events", "a", "h", "1"],
        "give --watch or --events, not both",
      ],
      [["-c", "2", "h", "1"], "-c goes with --events"],
      [["--events", "a b", "h", "1"], 'invalid pattern "a b"'],
    ] as const
  ) {
    const { code, stdout, stderr } = await runTool(["emstat", ...args]);
    assert.equal(code, 64, reason);
    assert.equal(stdout, "");
    assert.equal(stderr.split("\n")[0], `emstat: ${reason}`);
  }
});

Deno.test("emstat: an unreachable server exits 1 with one line", async () => {
  const port = closedPort();
  const { code, stdout, stderr } = await runTool([
    "emstat",
    "127.0.0.1",
    String(port),
  ]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.match(stderr, /^emstat: Cannot connect to "127\.0\.0\.1:\d+": .+\n$/);
});

Deno.test("emstat: reports a running emd process: name, version, connections, traffic", async () => {
  await using emd = await startEmd("stat_me", ["-q"]);
  await using waiter = await connect({ port: emd.port, receive: true });
  await using sender = await connect({ port: emd.port });
  await waiter.flush();
  await sender.trigger("a");
  await sender.trigger("b");
  await sender.flush();
  const { code, stdout, stderr } = await runTool([
    "emstat",
    "127.0.0.1",
    String(emd.port),
  ]);
  assert.equal(stderr, "");
  assert.equal(code, 0);
  const lines = stdout.split("\n");
  const version = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ).version;
  for (
    const line of [
      "# Server",
      "name:stat_me",
      `version:${version}`,
      "protocols:1.1,1.2",
      `addresses:tcp 127.0.0.1:${emd.port}`,
      "open:3 (1.2=3)",
      "waiters:1",
      "triggers:2",
      "deliveries:2",
      "agents:none",
      "latches:0",
    ]
  ) {
    assert.ok(lines.includes(line), `missing "${line}" in:\n${stdout}`);
  }
  assert.match(stdout, /^uptime:\d\d:\d\d:\d\d$/m);
  assert.match(stdout, /^resident_memory:\d+\.\d MiB$/m);
});

Deno.test("emstat --json prints the report as one JSON line", async () => {
  await using server = await startServer({
    port: 0,
    name: "js",
    version: "1.2.3",
  });
  const { code, stdout } = await runTool([
    "emstat",
    "--json",
    "127.0.0.1",
    String(server.addr.port),
  ]);
  assert.equal(code, 0);
  assert.equal(stdout.split("\n").length, 2); // one line and its line end
  const stats = JSON.parse(stdout);
  assert.equal(stats.server.name, "js");
  assert.equal(stats.server.version, "1.2.3");
  assert.equal(stats.connections.open, 1); // emstat itself
  assert.equal(stats.connections.byProtocol["1.2"], 1);
});

Deno.test("emstat --watch refreshes with rates until SIGTERM, then exits 0", async () => {
  await using server = await startServer({ port: 0, name: "w" });
  await using emstat = spawnEmstat([
    "--watch",
    "100",
    "127.0.0.1",
    String(server.addr.port),
  ]);
  await until(
    () => emstat.text.stdout.split("# Server").length > 3,
    "three reports",
  );
  assert.match(emstat.text.stdout, /^triggers:0 \(0\/s\)$/m); // later reports show rates
  emstat.child.kill("SIGTERM");
  assert.equal(await emstat.finished(), 0);
  assert.equal(emstat.text.stderr, "");
});

Deno.test("emstat --events prints matching events as they pass, with sender and receivers", async () => {
  await using server = await startServer({ port: 0, name: "ev" });
  const port = server.addr.port;
  await using emstat = spawnEmstat([
    "--events",
    "build_*",
    "-c",
    "2",
    "127.0.0.1",
    String(port),
  ]);
  await using sender = await connect({ port });
  const { tap } = (server as unknown as { counters: Counters }).counters;
  await until(() => tap.active, "emstat watching");
  const from = server.stats(true).connections.peers!
    .find((peer) => !peer.receiving)!.peer; // emstat receives, the sender does not
  await sender.trigger("other");
  await sender.trigger("build_a", { x: 1 });
  await sender.trigger("build_b");
  assert.equal(await emstat.finished(), 0);
  assert.equal(
    emstat.text.stdout,
    `build_a {"x":1}  (${from} → 1)\nbuild_b -  (${from} → 1)\n`,
  );
  assert.equal(emstat.text.stderr, "");
});

Deno.test("emstat: a server without the emd API is named as such", async () => {
  // A stand-in server that answers every call with unknown-verb, as another EM 1.2 server would.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serve = (async () => {
    const conn = await listener.accept();
    await conn.write(new TextEncoder().encode("H1.2\n"));
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\nc") && !text.startsWith("c")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n));
    }
    const id = text.match(/(?:^|\n)c([A-Za-z0-9_-]+),/)?.[1] ?? "0";
    await conn.write(new TextEncoder().encode(`x${id},unknown-verb,No verb\n`));
    while ((await conn.read(buffer)) !== null) { /* until emstat closes */ }
    conn.close();
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  const { code, stderr } = await runTool(["emstat", "127.0.0.1", String(port)]);
  await serve;
  listener.close();
  assert.equal(code, 1);
  assert.equal(
    stderr,
    `emstat: Cannot read the stats of "127.0.0.1:${port}": the server has no emd API (not emd, or an older one)\n`,
  );
});
