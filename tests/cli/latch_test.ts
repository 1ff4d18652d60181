// Latched events through real processes: the EM race (a trigger before the wait is lost) and how
// emtrigger --latch fixes it; --reset; a plain trigger leaves a latch set.
import assert from "node:assert/strict";
import { startServer } from "../../mod.ts";
import { runTool } from "../_helpers/cli.ts";
import { OK, TIMEOUT } from "../_helpers/sync_cli.ts";

Deno.test("emtrigger --latch: a trigger before the wait is lost, a latched one is not", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const at = ["127.0.0.1", String(server.addr.port)];
  // the race of EM 1.1: the producer finishes before the consumer starts waiting
  assert.deepEqual(await runTool(["emtrigger", ...at, "plain"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "plain", "100"]), TIMEOUT);
  // latched: every later wait returns at once, and it stays set
  assert.deepEqual(await runTool(["emtrigger", "--latch", ...at, "built"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "built", "-1"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "built", "0"]), OK);
  assert.deepEqual(
    await runTool(["emwait", ...at, "failed,built", "-1"]),
    { code: 0, stdout: "built\n", stderr: "" },
  );
});

Deno.test("emtrigger --reset: clears a latch; a plain trigger leaves it set", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const at = ["127.0.0.1", String(server.addr.port)];
  assert.deepEqual(await runTool(["emtrigger", "--latch", ...at, "ev"]), OK);
  assert.deepEqual(await runTool(["emtrigger", ...at, "ev"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "ev", "0"]), OK);
  assert.deepEqual(await runTool(["emtrigger", "--reset", ...at, "ev"]), OK);
  assert.deepEqual(await runTool(["emwait", ...at, "ev", "50"]), TIMEOUT);
  // resetting what is not latched changes nothing and is not an error
  assert.deepEqual(await runTool(["emtrigger", "--reset", ...at, "ev"]), OK);
});

Deno.test("emtrigger: --latch, --reset and --data exclude each other (exit 64)", async () => {
  const result = await runTool(
    ["emtrigger", "--latch", "--reset", "127.0.0.1", "1", "ev"],
  );
  assert.equal(result.code, 64);
  assert.match(
    result.stderr,
    /^emtrigger: --latch and --reset do not go together\n/,
  );
  const data = await runTool(
    ["emtrigger", "--data", "1", "--latch", "127.0.0.1", "1", "ev"],
  );
  assert.equal(data.code, 64);
  assert.match(data.stderr, /^emtrigger: --data and --latch do not go/);
});

/** A server that speaks only EM 1.1: says hello, then reads until the client goes. */
function oneOneServer(): AsyncDisposable & { port: number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      serving.push((async () => {
        try {
          await conn.write(new TextEncoder().encode("H1.1\n"));
          const buffer = new Uint8Array(1024);
          while (await conn.read(buffer) !== null) { /* 1.1 answers nothing */ }
        } catch {
          /* the client reset the connection */
        } finally {
          conn.close();
        }
      })());
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(serving);
    },
  };
}

Deno.test("sync tools: against an EM 1.1 server each says so in one line and exits 1", async () => {
  await using server = oneOneServer();
  const at = ["127.0.0.1", String(server.port)];
  const runs: [string, string[]][] = [
    ["emtrigger", ["--latch", ...at, "ev"]],
    ["emtrigger", ["--reset", ...at, "ev"]],
    ["emlock", [...at, "n", "--", "true"]],
    ["emsem", [...at, "n", "2", "--", "true"]],
    ["emlock", ["--release", ...at, "n", "token"]],
    ["embarrier", [...at, "b", "2"]],
  ];
  for (const [tool, args] of runs) {
    const result = await runTool([tool, ...args]);
    assert.equal(result.code, 1, `${tool} ${args.join(" ")}: ${result.stderr}`);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      new RegExp(`^${tool}: .*does not offer sync\\n$`),
    );
  }
});
