import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { installLinks } from "../../cli/install_links.ts";
import { TOOLS } from "../../cli/main.ts";
import { RUN_FLAGS, runProgram, runTool } from "../_helpers/cli.ts";

const MAIN = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const LINKED = Object.keys(TOOLS).filter((name) => name !== "install-links");
const SUFFIX = Deno.build.os === "windows" ? ".exe" : ""; // links are named like the binary

/** A temporary directory removed on dispose. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "em_links_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/** Runs `program run … cli/main.ts args…`: program's basename is the process's argv0. */
function runAs(program: string, args: string[]) {
  return runProgram(program, { args: [...RUN_FLAGS, MAIN, ...args] });
}

Deno.test("install-links: under deno run without --binary it refuses, saying why", async () => {
  await using dir = await tempDir();
  const result = await runTool(["install-links", dir.path]);
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.match(
    result.stderr,
    /^install-links: Cannot link to ".+": em runs under "deno run"/,
  );
  assert.deepEqual(await Array.fromAsync(Deno.readDir(dir.path)), []);
});

Deno.test("install-links: a missing DIR fails with one line and exit 1", async () => {
  await using dir = await tempDir();
  const missing = join(dir.path, "nope");
  const result = await runTool([
    "install-links",
    "--binary",
    Deno.execPath(),
    missing,
  ]);
  assert.deepEqual(result, {
    code: 1,
    stdout: "",
    stderr:
      `install-links: Cannot install links in "${missing}": not a directory\n`,
  });
});

Deno.test("install-links: links every tool in TOOLS to the binary", async () => {
  await using dir = await tempDir();
  const binary = Deno.execPath();
  const result = await runTool(["install-links", "--binary", binary, dir.path]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    result.stdout.trimEnd().split("\n"),
    LINKED.map((name) => `${join(dir.path, name + SUFFIX)} -> ${binary}`),
  );
  for (const name of LINKED) {
    assert.equal(await Deno.readLink(join(dir.path, name + SUFFIX)), binary);
  }
});

Deno.test("install-links: a link beside the binary points at its bare name", async () => {
  await using dir = await tempDir();
  const binary = join(dir.path, "em");
  await Deno.writeTextFile(binary, "#!/bin/sh\n");
  await installLinks(binary, dir.path, ["emwait"]);
  assert.equal(await Deno.readLink(join(dir.path, "emwait" + SUFFIX)), "em");
});

Deno.test("install-links: a file in the way is kept without --force, replaced with it", async () => {
  await using dir = await tempDir();
  const binary = join(dir.path, "em");
  const inTheWay = join(dir.path, "emwait" + SUFFIX);
  await Deno.writeTextFile(binary, "#!/bin/sh\n");
  await Deno.writeTextFile(inTheWay, "mine");
  await assert.rejects(
    installLinks(binary, dir.path, ["emwait"]),
    new TypeError(
      `Cannot create "${inTheWay}": a file is already there (--force replaces it)`,
    ),
  );
  assert.equal(await Deno.readTextFile(inTheWay), "mine");
  await installLinks(binary, dir.path, ["emwait"], { force: true });
  assert.equal(await Deno.readLink(inTheWay), "em");
});

Deno.test("install-links: running twice leaves correct links alone", async () => {
  await using dir = await tempDir();
  const binary = join(dir.path, "em");
  await Deno.writeTextFile(binary, "#!/bin/sh\n");
  const first = await installLinks(binary, dir.path, LINKED);
  assert.deepEqual(await installLinks(binary, dir.path, LINKED), first);
});

Deno.test("install-links: --copy copies the binary, .exe names keep .exe", async () => {
  await using dir = await tempDir();
  const binary = join(dir.path, "em.exe");
  await Deno.writeTextFile(binary, "binary bytes");
  const lines = await installLinks(binary, dir.path, ["emwait"], {
    copy: true,
  });
  const copy = join(dir.path, "emwait.exe");
  assert.deepEqual(lines, [`${copy} (copy of ${binary})`]);
  assert.equal((await Deno.lstat(copy)).isSymlink, false);
  assert.equal(await Deno.readTextFile(copy), "binary bytes");
});

Deno.test("em: a symlink to deno named emwait dispatches to emwait by argv0", async () => {
  await using dir = await tempDir();
  await installLinks(Deno.execPath(), dir.path, ["emwait"]);
  const result = await runAs(join(dir.path, "emwait" + SUFFIX), ["--version"]);
  assert.deepEqual(result, {
    code: 0,
    stdout: `emwait ${await version()} (em protocol 1.1, 1.2)\n`,
    stderr: "",
  });
});

Deno.test("em: a copy of the binary named emwait dispatches to emwait", async () => {
  await using dir = await tempDir();
  const copy = join(dir.path, "emwait" + SUFFIX);
  try {
    await Deno.link(Deno.execPath(), copy); // to the process, a hard link is a copy; and cheap
  } catch {
    await Deno.copyFile(Deno.execPath(), copy); // another file system
  }
  const result = await runAs(copy, ["--version"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^emwait \S+ \(em protocol /);
});

Deno.test("em: a program name ending in .exe dispatches without it", async () => {
  await using dir = await tempDir();
  const link = join(dir.path, "emquit.exe");
  await Deno.symlink(Deno.execPath(), link);
  const result = await runAs(link, ["127.0.0.1", "0", "x"]);
  assert.equal(result.code, 64);
  assert.match(result.stderr, /^emquit: invalid port "0"/);
});

async function version(): Promise<string> {
  const text = await Deno.readTextFile(
    new URL("../../deno.json", import.meta.url),
  );
  return (JSON.parse(text) as { version: string }).version;
}
