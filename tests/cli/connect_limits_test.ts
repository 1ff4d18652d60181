// Exit codes and time limits a script can trust: a port that accepts but never says hello is a
// failure (exit 1), not a timeout (2); --connect-timeout and each tool's own limit bound it.
import assert from "node:assert/strict";
import { MIN_CONNECT_MS, type ToolSpec } from "../../cli/_tool.ts";
import { TOOLS } from "../../cli/main.ts";
import { runTool, type ToolResult } from "../_helpers/cli.ts";

/** A TCP server that accepts every connection and never says a word; disposing closes all. */
function silentServer(): AsyncDisposable & { port: number } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        const buffer = new Uint8Array(1024);
        try {
          while (await conn.read(buffer) !== null) { /* hears, says nothing */ }
        } catch { /* closed by dispose */ }
        conns.delete(conn);
        try {
          conn.close();
        } catch { /* closed by dispose */ }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await serving.catch(() => {});
    },
  };
}

/** The tools that connect to a server, with arguments after `hostname port` that need one. */
const CLIENT_ARGS: Readonly<Record<string, string[]>> = {
  emwait: ["ev", "-1"],
  emtrigger: ["ev"],
  emquit: ["srv"],
  emsub: ["ev"],
  emcall: ["api/verb"],
  emlock: ["name", "--", "true"],
  emsem: ["name", "2", "--", "true"],
  embarrier: ["name", "2"],
  emstat: [],
};

Deno.test("connect limits: every connecting tool is in the table (emtail retries by design)", () => {
  const connecting = Object.keys(TOOLS).filter((name) =>
    !["emd", "install-links", "emtail"].includes(name)
  );
  assert.deepEqual(connecting.sort(), Object.keys(CLIENT_ARGS).sort());
});

function cannotConnect(
  name: string,
  port: number,
  ms: number,
): ToolResult {
  return {
    code: 1,
    stdout: "",
    stderr:
      `${name}: Cannot connect to "127.0.0.1:${port}": no answer within ${ms} ms\n`,
  };
}

Deno.test("connect limits: a port that never says hello is exit 1 with --connect-timeout, for every tool", async () => {
  await using silent = silentServer();
  const host = ["127.0.0.1", String(silent.port)];
  const names = Object.keys(CLIENT_ARGS);
  const results = await Promise.all(
    names.map((name) =>
      runTool([
        name,
        "--connect-timeout",
        "300",
        ...host,
        ...CLIENT_ARGS[name]!,
      ])
    ),
  );
  assert.deepEqual(
    Object.fromEntries(names.map((name, i) => [name, results[i]])),
    Object.fromEntries(
      names.map((name) => [name, cannotConnect(name, silent.port, 300)]),
    ),
  );
});

Deno.test("connect limits: a tool's own shorter limit bounds connecting and the hello (exit 1)", async () => {
  await using silent = silentServer();
  const port = String(silent.port);
  const at = ["127.0.0.1", port];
  const cases: [string[], string, number][] = [
    [["emwait", ...at, "ev", "1500"], "emwait", 1500],
    [["emcall", "-W", "1500", ...at, "api/verb"], "emcall", 1500],
    [["emsub", "-W", "1500", ...at, "ev"], "emsub", 1500],
    [["emlock", "--timeout", "1500", ...at, "n", "--", "true"], "emlock", 1500],
    [["embarrier", ...at, "n", "2", "1500"], "embarrier", 1500],
    // a limit shorter than MIN_CONNECT_MS still leaves that long to connect
    [["emwait", ...at, "ev", "1"], "emwait", MIN_CONNECT_MS],
    // --connect-timeout, when shorter, wins over the tool's limit
    [
      ["emwait", "--connect-timeout", "300", ...at, "ev", "1500"],
      "emwait",
      300,
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => runTool(args)));
  assert.deepEqual(
    results,
    cases.map(([, name, ms]) => cannotConnect(name, silent.port, ms)),
  );
});

Deno.test("connect limits: a bad --connect-timeout is a usage error", async () => {
  for (const value of ["0", "-5", "soon"]) {
    const result = await runTool([
      "emtrigger",
      `--connect-timeout=${value}`,
      "127.0.0.1",
      "1",
      "ev",
    ]);
    assert.equal(result.code, 64, value);
    assert.match(
      result.stderr,
      new RegExp(
        `^emtrigger: invalid --connect-timeout "${value}": use milliseconds above 0\n`,
      ),
    );
  }
});

Deno.test("connect limits: --help of every client tool documents --connect-timeout and its default", async () => {
  for (const name of Object.keys(CLIENT_ARGS)) {
    const { spec } = await TOOLS[name]!.load() as unknown as { spec: ToolSpec };
    assert.equal(spec.name, name);
    const help = await runTool([name, "--help"]);
    assert.match(
      help.stdout,
      /--connect-timeout MS +time to connect [^]*\(default 5000\)/,
    );
  }
});
