// Short forms: a default server from -s HOST:PORT or EM_SERVER, told apart from EM's full forms
// by the argument count; real emd and tool processes.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { connect } from "../../client/mod.ts";
import { parseServerList, placeServer } from "../../cli/_server_spec.ts";
import { closedPort, runTool, spawnTool, startEmd } from "../_helpers/cli.ts";

const speedAgent = fileURLToPath(
  new URL("../../examples/speed.ts", import.meta.url),
);

Deno.test("short forms: server lists are read or refused with a reason", () => {
  const table: [string, unknown][] = [
    ["h:1", [{ hostname: "h", port: 1 }]],
    ["127.0.0.1:65535", [{ hostname: "127.0.0.1", port: 65535 }]],
    ["[::1]:4000", [{ hostname: "::1", port: 4000 }]],
    ["h1:4000,h2:4001", [
      { hostname: "h1", port: 4000 },
      { hostname: "h2", port: 4001 },
    ]],
    ["h", 'invalid server "h": use HOST:PORT (port 1 to 65535)'],
    [":4000", 'invalid server ":4000": use HOST:PORT (port 1 to 65535)'],
    ["h:0", 'invalid server "h:0": use HOST:PORT (port 1 to 65535)'],
    ["h:65536", 'invalid server "h:65536": use HOST:PORT (port 1 to 65535)'],
    ["::1:4000", 'invalid server "::1:4000": use HOST:PORT (port 1 to 65535)'],
    ["h:1,", 'invalid server "": use HOST:PORT (port 1 to 65535)'],
  ];
  for (const [text, expected] of table) {
    assert.deepEqual(parseServerList(text), expected, text);
  }
});

Deno.test("short forms: the count, -s and the port tell the forms apart", () => {
  const emwait = { min: 4, max: 4 }, emsub = { min: 2, max: 64 };
  const full = ["h", "4000", "ev", "10"];
  assert.deepEqual(placeServer(full, emwait, undefined), full);
  assert.deepEqual(placeServer(["ev", "10"], emwait, "s:1"), [
    "s",
    "1",
    "ev",
    "10",
  ]);
  assert.equal(
    placeServer(["ev"], emwait, "s:1"),
    "expected 4 arguments (or 2 with -s HOST:PORT or EM_SERVER), got 1",
  );
  assert.equal( // -s always means the short form
    placeServer(full, emwait, "s:1"),
    "expected 4 arguments (or 2 with -s HOST:PORT or EM_SERVER), got 4",
  );
  assert.deepEqual(placeServer(["h", "4000", "a/*"], emsub, undefined), [
    "h",
    "4000",
    "a/*",
  ]);
  assert.deepEqual(placeServer(["a/*", "b/*"], emsub, "s:1"), [
    "s",
    "1",
    "a/*",
    "b/*",
  ]);
  assert.deepEqual(placeServer(["ev", "10"], emwait, "h1:1,h2:2"), [
    "h1:1,h2:2", // a list stays the hostname: parseServer reads it (client failover)
    "1",
    "ev",
    "10",
  ]);
});

Deno.test("short forms: no server and a bad EM_SERVER or -s are usage errors", async () => {
  const none = await runTool(["emtrigger", "build_done"]);
  assert.equal(none.code, 64);
  assert.match(
    none.stderr,
    /^emtrigger: no server: give hostname port, -s HOST:PORT or EM_SERVER=HOST:PORT\n/,
  );
  const badEnv = await runTool(["emquit", "srv"], {
    env: { EM_SERVER: "localhost" },
  });
  assert.equal(badEnv.code, 64);
  assert.match(
    badEnv.stderr,
    /^emquit: EM_SERVER: invalid server "localhost": use HOST:PORT \(port 1 to 65535\)\n/,
  );
  const badS = await runTool(["emwait", "-s", "h:0", "ev", "1"]);
  assert.equal(badS.code, 64);
  assert.match(badS.stderr, /^emwait: invalid server "h:0": /);
});

Deno.test("short forms: EM_SERVER and -s drive emtrigger, emwait and emquit", async () => {
  await using emd = await startEmd("myserver");
  const env = { EM_SERVER: `127.0.0.1:${emd.port}` };
  await using waiter = await connect({ port: emd.port, receive: true });
  await waiter.flush();
  assert.deepEqual(await runTool(["emtrigger", "build_done"], { env }), {
    code: 0,
    stdout: "",
    stderr: "",
  });
  assert.equal(await waiter.wait("build_done", 10_000), true);
  const s = ["-s", `127.0.0.1:${emd.port}`];
  assert.deepEqual(await runTool(["emtrigger", ...s, "--latch", "ready"]), {
    code: 0,
    stdout: "",
    stderr: "",
  });
  assert.deepEqual(await runTool(["emwait", "ready", "5000"], { env }), {
    code: 0,
    stdout: "",
    stderr: "",
  });
  assert.deepEqual(await runTool(["emwait", ...s, "nothing", "0"]), {
    code: 2,
    stdout: "timeout\n",
    stderr: "",
  });
  assert.deepEqual(await runTool(["emquit", "myserver"], { env }), {
    code: 0,
    stdout: "",
    stderr: "",
  });
  assert.equal((await emd.exited()).code, 0);
});

Deno.test("short forms: EM's full forms keep their meaning when EM_SERVER points elsewhere", async () => {
  await using emd = await startEmd("t");
  const env = { EM_SERVER: `127.0.0.1:${closedPort()}` };
  await using waiter = await connect({ port: emd.port, receive: true });
  await waiter.flush();
  const full = ["127.0.0.1", String(emd.port)];
  assert.deepEqual(await runTool(["emtrigger", ...full, "ev"], { env }), {
    code: 0,
    stdout: "",
    stderr: "",
  });
  assert.equal(await waiter.wait("ev", 10_000), true);
  const watched = spawnTool(["emsub", "-c", "1", ...full, "a/*"], { env });
  await using sender = await connect({ port: emd.port });
  while ((await sender.trigger("a/b", 1)) === 0) {
    /* until emsub subscribed */
  }
  const { code, stdout } = await watched.result;
  assert.equal(code, 0);
  assert.match(stdout, /^\{"name":"a\/b","data":1,"time":"[^"]+"\}\n$/);
});

Deno.test("short forms: emsub 'speed/*' and emcall speed/stats with EM_SERVER", async () => {
  await using emd = await startEmd("t", ["-q", "--agent", speedAgent]);
  const env = { EM_SERVER: `127.0.0.1:${emd.port}` };
  assert.deepEqual(await runTool(["emcall", "speed/stats"], { env }), {
    code: 0,
    stdout: '{"streams":[]}\n',
    stderr: "",
  });
  await using sender = await connect({ port: emd.port });
  assert.equal(await sender.trigger("speed/test", 0), 0); // the agent does not count
  const watched = spawnTool(["emsub", "-c", "1", "speed/*"], { env });
  let tries = 0;
  while ((await sender.trigger("speed/test", { kmh: 1 })) === 0) {
    assert.ok(++tries < 10_000, "emsub never subscribed");
  }
  const { code, stdout } = await watched.result;
  assert.equal(code, 0);
  assert.match(
    stdout,
    /^\{"name":"speed\/test","data":\{"kmh":1\},"time":"[^"]+"\}\n$/,
  );
});
