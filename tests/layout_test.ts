import { fileURLToPath } from "node:url";
// The repository's import graph follows STYLE.md: arrows point down, front doors only, no cycles,
// no bare or jsr: specifiers, npm: with a version range through one adapter file per package.
import assert from "node:assert/strict";
import { type Edge, layoutFaults, readEdges } from "./_helpers/layout.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

Deno.test("layout: the repository breaks no import rule", async () => {
  const edges = await readEdges(ROOT);
  assert.ok(
    edges.some((edge) => edge.from === "mod.ts"),
    "mod.ts was not read",
  );
  assert.ok(
    edges.some((edge) => edge.from.startsWith("cli/")),
    "cli/ was not read",
  );
  assert.deepEqual(layoutFaults(edges), []);
});

const rel = (from: string, to: string, typeOnly = false): Edge => ({
  from,
  specifier: `./${to}`,
  to,
  typeOnly,
});
const spec = (from: string, specifier: string): Edge => ({
  from,
  specifier,
  typeOnly: false,
});

Deno.test("layout: each broken rule is reported", () => {
  assert.deepEqual(
    layoutFaults([
      rel("protocol/names.ts", "client/mod.ts"),
      rel("server/server.ts", "protocol/limits.ts"),
      rel("cli/emd.ts", "server/_log.ts"),
      rel("examples/x.ts", "client/mod.ts"),
      spec("client/client.ts", "lodash"),
      spec("client/client.ts", "jsr:@std/assert"),
      spec("protocol/escape.ts", "node:util"),
      spec("server/a.ts", "npm:@logtape/logtape"),
      spec("server/b.ts", "npm:@logtape/logtape@^2.4.2"),
      rel("client/a.ts", "client/b.ts"),
      rel("client/b.ts", "client/a.ts"),
      rel("server/c.ts", "server/d.ts"),
      rel("server/d.ts", "server/c.ts", true),
    ]),
    [
      'protocol/names.ts: imports "./client/mod.ts": protocol may import nothing outside itself',
      'server/server.ts: imports "./protocol/limits.ts": server may import only protocol/mod.ts, protocol/line_codec.ts',
      'cli/emd.ts: imports "./server/_log.ts": server/_log.ts is private to server/',
      'examples/x.ts: imports "./client/mod.ts": examples may import only mod.ts',
      'client/client.ts: imports "lodash": bare specifier: use a relative path, node: or npm:pkg@^x',
      'client/client.ts: imports "jsr:@std/assert": jsr: is not allowed',
      'protocol/escape.ts: imports "node:util": protocol may not use node:',
      'server/a.ts: imports "npm:@logtape/logtape": npm: needs a version range, e.g. npm:pkg@^1.2',
      "npm:@logtape/logtape enters through 2 files (server/a.ts, server/b.ts): use one adapter file",
      "import cycle: client/a.ts → client/b.ts → client/a.ts",
      "import cycle: server/c.ts → server/d.ts → server/c.ts",
    ],
  );
});

Deno.test("layout: front doors, same-layer files and platform imports pass", () => {
  assert.deepEqual(
    layoutFaults([
      rel("mod.ts", "server/mod.ts"),
      rel("server/agents/agents.ts", "protocol/mod.ts"),
      rel("server/agents/agents.ts", "server/session.ts"),
      rel("server/agents/agents.ts", "server/agents/_state.ts"),
      rel("cli/_tool.ts", "deno.json"),
      rel("cli/emwait.ts", "client/one_shot.ts"),
      rel("cli/emwait.ts", "protocol/line_codec.ts"),
      rel("client/one_shot.ts", "protocol/line_codec.ts"),
      rel("examples/x.ts", "mod.ts"),
      spec("cli/main.ts", "node:process"),
      spec("server/_log.ts", "npm:@logtape/logtape@^2.4.2"),
    ]),
    [],
  );
});

Deno.test("layout: a second front door opens only to the layers listed", () => {
  assert.deepEqual(
    layoutFaults([
      rel("server/server.ts", "client/one_shot.ts"),
      rel("examples/x.ts", "protocol/line_codec.ts"),
      rel("cli/emwait.ts", "client/_socket.ts"),
    ]),
    [
      'server/server.ts: imports "./client/one_shot.ts": server may import only protocol/mod.ts, protocol/line_codec.ts',
      'examples/x.ts: imports "./protocol/line_codec.ts": examples may import only mod.ts',
      'cli/emwait.ts: imports "./client/_socket.ts": client/_socket.ts is private to client/',
    ],
  );
});
