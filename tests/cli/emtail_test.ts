import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { connect, type EmServer, startServer } from "../../mod.ts";
import { closedPort, RUN_FLAGS, runTool, toolEnv } from "../_helpers/cli.ts";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const decoder = new TextDecoder();

const CONFIG = `# emtail test patterns
failed=there were [1-9]\\\\d* failures
winfile=c:\\\\\\\\
one=line one
two=line two
three=line three
four=line four
`;

/** A temp dir with the config and an empty log. */
async function workspace(log = "") {
  const dir = await Deno.makeTempDir({ prefix: "emtail_cli_" });
  await Deno.writeTextFile(`${dir}/patterns.cfg`, CONFIG);
  await Deno.writeTextFile(`${dir}/app.log`, log);
  return {
    dir,
    cfg: `${dir}/patterns.cfg`,
    log: `${dir}/app.log`,
    append: (text: string) =>
      Deno.writeTextFile(`${dir}/app.log`, text, { append: true }),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A running emtail whose stdout and stderr can be awaited line by line. */
function spawnEmtail(args: string[], stdin: "null" | "piped" = "null") {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...RUN_FLAGS, MAIN, "emtail", ...args],
    env: toolEnv(),
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = { stdout: "", stderr: "" };
  const listeners = new Set<() => void>();
  const pump = async (name: "stdout" | "stderr") => {
    for await (const chunk of child[name]) {
      text[name] += decoder.decode(chunk, { stream: true });
      for (const listener of [...listeners]) listener();
    }
  };
  const pumps = Promise.all([pump("stdout"), pump("stderr")]);
  const until = (name: "stdout" | "stderr", wanted: string) => {
    if (text[name].includes(wanted)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`${name} never showed ${wanted}: ${text[name]}`));
      }, 20_000);
      const check = () => {
        if (!text[name].includes(wanted)) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve();
      };
      listeners.add(check);
    });
  };
  let exited: Promise<{ code: number; stdout: string; stderr: string }>;
  const exit = () =>
    exited ??= (async () => {
      const { code } = await child.status;
      await pumps;
      return { code, ...text };
    })();
  return {
    child,
    text,
    stdout: (wanted: string) => until("stdout", wanted),
    stderr: (wanted: string) => until("stderr", wanted),
    exit,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* already exited */ }
      await exit();
      if (stdin === "piped") await child.stdin.close().catch(() => {});
    },
  };
}

/** Triggers "stop" (the quit event the tests give emtail); emtail exits 0 having printed `stdout`. */
async function stopsWith(
  server: EmServer,
  emtail: ReturnType<typeof spawnEmtail>,
  stdout: string,
): Promise<void> {
  await using quitter = await connect({ port: server.addr.port });
  await quitter.trigger("stop");
  assert.deepEqual(await emtail.exit(), { code: 0, stdout, stderr: "" });
}

/** Waits (bounded) until the server holds `count` connections. */
async function connections(server: EmServer, count: number): Promise<void> {
  for (let tries = 0; server.connectionCount !== count; tries++) {
    if (tries > 2_000) assert.fail(`never reached ${count} connections`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("emtail: a bad pattern is refused at start with its line", async () => {
  await using ws = await workspace();
  await Deno.writeTextFile(ws.cfg, "# c\nok=fine\n\nbad = a*+\n");
  const result = await runTool(["emtail", "127.0.0.1", "1", ws.log, ws.cfg]);
  assert.deepEqual(result, {
    code: 64,
    stdout: "",
    stderr:
      `emtail: ${ws.cfg}:4: Cannot compile the pattern of "bad" ("a*+"): Nothing to repeat\n`,
  });
});

Deno.test("emtail: an invalid event name is refused at start with its line", async () => {
  await using ws = await workspace();
  await Deno.writeTextFile(ws.cfg, "ok=fine\nbad\\ name=x\n");
  const result = await runTool(["emtail", "127.0.0.1", "1", ws.log, ws.cfg]);
  assert.equal(result.code, 64);
  assert.equal(
    result.stderr,
    `emtail: ${ws.cfg}:2: Invalid event name "bad name": use 1 to 255 characters of [A-Za-z0-9_]\n`,
  );
});

Deno.test("emtail: unreadable files and bad arguments", async () => {
  await using ws = await workspace();
  const missingCfg = await runTool([
    "emtail",
    "127.0.0.1",
    "1",
    ws.log,
    `${ws.dir}/none.cfg`,
  ]);
  assert.equal(missingCfg.code, 1);
  assert.match(missingCfg.stderr, /^emtail: Cannot read ".*none.cfg": /);
  const missingLog = await runTool([
    "emtail",
    "127.0.0.1",
    "1",
    `${ws.dir}/none.log`,
    ws.cfg,
  ]);
  assert.equal(missingLog.code, 1);
  assert.match(missingLog.stderr, /^emtail: Cannot open ".*none.log": /);
  const badQuit = await runTool(["emtail", "h", "1", "-", ws.cfg, "a-b"]);
  assert.equal(badQuit.code, 64);
  const badPoll = await runTool([
    "emtail",
    "--poll-ms",
    "0",
    "h",
    "1",
    "-",
    ws.cfg,
  ]);
  assert.equal(badPoll.code, 64);
  assert.match(badPoll.stderr, /invalid --poll-ms "0"/);
  const help = await runTool(["emtail", "--help"]);
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /^Usage: emtail \[OPTIONS\] hostname port log_file/,
  );
});

Deno.test("emtail: a stdin pipeline triggers each match in order and exits at its end", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using ws = await workspace();
  await using receiver = await connect({
    port: server.addr.port,
    receive: true,
  });
  await receiver.flush();
  const result = await runTool(
    ["emtail", "--echo", "127.0.0.1", String(server.addr.port), "-", ws.cfg],
    {
      stdin:
        "noise\nthere were 0 failures\nthere were 12 failures\r\nline one c:\\ line two\nline three",
    },
  );
  assert.deepEqual(result, {
    code: 0,
    stdout: "failed\nwinfile\none\ntwo\nthree\n",
    stderr: "",
  });
  for (const event of ["failed", "winfile", "one", "two", "three"]) {
    assert.equal(await receiver.next(event, { timeoutMs: 10_000 }), true);
  }
});

Deno.test("emtail: a file's content, growth, truncation, rotation, then quit_event", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using ws = await workspace("line one\nline t");
  const port = String(server.addr.port);
  await using emtail = spawnEmtail(
    ["--echo", "--poll-ms", "10", "127.0.0.1", port, ws.log, ws.cfg, "stop"],
  );
  await emtail.stdout("one\n");
  await ws.append("wo\n"); // completes the partial line
  await emtail.stdout("one\ntwo\n");
  await Deno.truncate(ws.log, 0);
  await ws.append("line three\n");
  await emtail.stdout("two\nthree\n");
  await Deno.rename(ws.log, `${ws.log}.1`);
  await Deno.writeTextFile(`${ws.log}.1`, "there were 4 failures\n", {
    append: true,
  });
  await Deno.writeTextFile(ws.log, "line four\n");
  await emtail.stdout("three\nfailed\nfour\n");
  await stopsWith(server, emtail, "one\ntwo\nthree\nfailed\nfour\n");
});

Deno.test("emtail: quit_event ends a stdin pipeline that is still open", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using ws = await workspace();
  const port = String(server.addr.port);
  await using emtail = spawnEmtail(
    ["--echo", "127.0.0.1", port, "-", ws.cfg, "stop"],
    "piped",
  );
  const writer = emtail.child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("line one\n"));
  writer.releaseLock();
  await emtail.stdout("one\n");
  await stopsWith(server, emtail, "one\n");
});

Deno.test("emtail: --from-end skips the existing content", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using ws = await workspace("line one\n");
  const port = String(server.addr.port);
  await using emtail = spawnEmtail(
    [
      "--echo",
      "--poll-ms",
      "10",
      "--from-end",
      "127.0.0.1",
      port,
      ws.log,
      ws.cfg,
    ],
  );
  await connections(server, 1); // emtail opens the log before it connects
  await ws.append("line two\n");
  await emtail.stdout("two\n");
  assert.equal(emtail.text.stdout, "two\n");
});

Deno.test("emtail: a server restart on the same port loses no matched line", async () => {
  const first = await startServer({ port: 0, name: "t" });
  const port = first.addr.port;
  await using ws = await workspace("line one\n");
  await using emtail = spawnEmtail([
    "--echo",
    "--poll-ms",
    "10",
    "--retry-max-ms",
    "50",
    "127.0.0.1",
    String(port),
    ws.log,
    ws.cfg,
  ]);
  await emtail.stdout("one\n");
  await first.close();
  await emtail.stderr("retrying");
  await ws.append("line two\nline three\n");
  await using second = await startServer({ port, name: "t" });
  await emtail.stdout("one\ntwo\nthree\n");
  await using receiver = await connect({ port, receive: true });
  await receiver.flush();
  await ws.append("line four\n");
  assert.equal(await receiver.wait("four", 10_000), true);
  assert.equal(second.connectionCount, 2);
  assert.match(
    emtail.text.stderr,
    new RegExp(
      `^emtail: Connection to "127.0.0.1:${port}" (closed by the server|lost: .*); retrying\n` +
        `emtail: Connected again to "127.0.0.1:${port}"\n$`,
    ),
  );
});

Deno.test("emtail: --no-retry exits 1 when the server goes away", async () => {
  const server = await startServer({ port: 0, name: "t" });
  await using ws = await workspace("line one\n");
  await using emtail = spawnEmtail(
    [
      "--echo",
      "--no-retry",
      "127.0.0.1",
      String(server.addr.port),
      ws.log,
      ws.cfg,
    ],
  );
  await emtail.stdout("one\n");
  await server.close();
  const result = await emtail.exit();
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^emtail: Connection to .* (closed by the server|lost: .*)\n$/,
  );
});

Deno.test("emtail: -s with several servers skips a dead one and fails over, losing no matched line", async () => {
  const dead = closedPort();
  const first = await startServer({ port: 0, name: "t" });
  await using second = await startServer({ port: 0, name: "t" });
  const [p1, p2] = [first.addr.port, second.addr.port];
  await using ws = await workspace("line one\n");
  await using emtail = spawnEmtail([
    "--echo",
    "--poll-ms",
    "10",
    "--retry-max-ms",
    "50",
    "-s",
    `127.0.0.1:${dead},127.0.0.1:${p1},127.0.0.1:${p2}`,
    ws.log,
    ws.cfg,
  ]);
  await emtail.stdout("one\n"); // confirmed by the first server that answered
  await first.close();
  await emtail.stderr("retrying");
  await ws.append("line two\n");
  await emtail.stdout("one\ntwo\n"); // confirmed by the second
  await using receiver = await connect({ port: p2, receive: true });
  await receiver.flush();
  await ws.append("line three\n");
  assert.equal(await receiver.wait("three", 10_000), true);
  assert.match(
    emtail.text.stderr,
    new RegExp(
      `^emtail: Connection to "127.0.0.1:${p1}" (closed by the server|lost: .*); retrying\n` +
        `emtail: Connected again to "127.0.0.1:${p2}"\n$`,
    ),
  );
});
