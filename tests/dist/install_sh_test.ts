import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { TOOLS } from "../../cli/main.ts";
import { runProgram } from "../_helpers/cli.ts";

const root = new URL("../../", import.meta.url);
const INSTALL_SH = fileURLToPath(new URL("install.sh", root));
const MAIN = fileURLToPath(new URL("cli/main.ts", root));
const LINKED = Object.keys(TOOLS).filter((name) => name !== "install-links");
const ASSET = `em-${Deno.build.target}`;
const NO_SH = Deno.build.os === "windows"; // install.sh is for POSIX shells
const decoder = new TextDecoder();
const { version } = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", root)),
) as { version: string };

/**
 * The fake release binary: a tiny shell script that runs cli/main.ts under deno, passing the name
 * it was called by as the tool (a symlink named emwait runs "em emwait").
 */
const FAKE_BINARY = `#!/bin/sh
name=$(basename "$0")
[ "$name" = em ] && exec "${Deno.execPath()}" run --quiet -A "${MAIN}" "$@"
exec "${Deno.execPath()}" run --quiet -A "${MAIN}" "$name" "$@"
`;

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(
    new Uint8Array(digest),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** A local release server: files by name under /releases/latest/download/ and /download/TAG/. */
function serveRelease(files: Map<string, Uint8Array<ArrayBuffer>>) {
  const requested: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const path = new URL(request.url).pathname;
      requested.push(path);
      const match = path.match(
        /^\/releases\/(?:latest\/download|download\/v[\d.]+)\/([^/]+)$/,
      );
      const body = match ? files.get(match[1]!) : undefined;
      return body
        ? new Response(body)
        : new Response("not found", { status: 404 });
    },
  );
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/releases`,
    requested,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A fake release whose SHA256SUMS lists `checksum` (by default the right one) for the binary. */
async function fakeRelease(
  checksum?: string,
): Promise<Map<string, Uint8Array<ArrayBuffer>>> {
  const binary = new TextEncoder().encode(FAKE_BINARY);
  const sums = `${
    checksum ?? await sha256(binary)
  }  ${ASSET}\n0000  em-other-target\n`;
  return new Map([[ASSET, binary], [
    "SHA256SUMS",
    new TextEncoder().encode(sums),
  ]]);
}

function runInstall(args: string[], baseUrl: string) {
  return runProgram("sh", {
    args: [INSTALL_SH, ...args],
    env: {
      EM_INSTALL_BASE_URL: baseUrl,
      NO_PROXY: "127.0.0.1",
      no_proxy: "127.0.0.1",
    },
  });
}

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "em_install_" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "install.sh: a checksum mismatch installs nothing and exits 1",
  ignore: NO_SH,
  async fn() {
    await using prefix = await tempDir();
    await using release = serveRelease(await fakeRelease("0".repeat(64)));
    const result = await runInstall(
      ["--prefix", prefix.path, "--version", "0.1.0"],
      release.baseUrl,
    );
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      new RegExp(
        `^install.sh: Checksum mismatch for ${ASSET}: expected 0{64}, got [0-9a-f]{64}; nothing installed\n$`,
      ),
    );
    assert.equal(await exists(join(prefix.path, "bin")), false);
    assert.deepEqual(release.requested, [
      "/releases/download/v0.1.0/SHA256SUMS",
      `/releases/download/v0.1.0/${ASSET}`,
    ]);
  },
});

Deno.test({
  name:
    "install.sh: a release without this platform's binary fails to download, exit 1",
  ignore: NO_SH,
  async fn() {
    await using prefix = await tempDir();
    const files = await fakeRelease();
    files.delete(ASSET);
    await using release = serveRelease(files);
    const result = await runInstall(["--prefix", prefix.path], release.baseUrl);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`^install.sh: Cannot download ".+/${ASSET}": .*404\n$`),
    );
    assert.equal(await exists(join(prefix.path, "bin", "em")), false);
  },
});

Deno.test({
  name: "install.sh: bad arguments exit 64, --help 0",
  ignore: NO_SH,
  async fn() {
    const bad = await runInstall(["--prefix"], "http://127.0.0.1:1");
    assert.deepEqual(bad, {
      code: 64,
      stdout: "",
      stderr: 'install.sh: --prefix needs a value\nTry "install.sh --help".\n',
    });
    const help = await runInstall(["--help"], "http://127.0.0.1:1");
    assert.equal(help.code, 0);
    assert.match(
      help.stdout,
      /^Usage: install.sh \[--prefix DIR\] \[--version VERSION\]/,
    );
  },
});

Deno.test({
  name:
    "install.sh: verifies, installs em and links every tool that then runs by its name",
  ignore: NO_SH,
  async fn() {
    await using prefix = await tempDir();
    await using release = serveRelease(await fakeRelease());
    const result = await runInstall(["--prefix", prefix.path], release.baseUrl);
    const bin = join(prefix.path, "bin");
    assert.deepEqual(result, {
      code: 0,
      stdout: `installed em ${version} (em protocol 1.1, 1.2) as ${
        join(bin, "em")
      }, with its tools in ${bin}\n`,
      stderr: "",
    });
    assert.deepEqual(release.requested, [
      "/releases/latest/download/SHA256SUMS",
      `/releases/latest/download/${ASSET}`,
    ]);
    assert.equal(await Deno.readTextFile(join(bin, "em")), FAKE_BINARY);
    assert.equal((await Deno.stat(join(bin, "em"))).mode! & 0o111, 0o111);
    for (const name of LINKED) {
      assert.equal(await Deno.readLink(join(bin, name)), "em");
    }
    const emwait = await new Deno.Command(join(bin, "emwait"), {
      args: ["--version"],
    }).output();
    assert.equal(
      decoder.decode(emwait.stdout),
      `emwait ${version} (em protocol 1.1, 1.2)\n`,
    );
  },
});

Deno.test({
  name:
    "install.sh: --target installs another platform's binary without running it",
  ignore: NO_SH,
  async fn() {
    await using prefix = await tempDir();
    const target = Deno.build.arch === "aarch64"
      ? "x86_64-apple-darwin"
      : "aarch64-apple-darwin";
    const binary = new TextEncoder().encode("not for this machine");
    const sums = new TextEncoder().encode(
      `${await sha256(binary)}  em-${target}\n`,
    );
    await using release = serveRelease(
      new Map([[`em-${target}`, binary], ["SHA256SUMS", sums]]),
    );
    const result = await runInstall(
      ["--prefix", prefix.path, "--target", target],
      release.baseUrl,
    );
    const bin = join(prefix.path, "bin");
    assert.deepEqual(result, {
      code: 0,
      stdout: `installed ${
        join(bin, "em")
      } for ${target}; run "em install-links ${bin}" on that platform\n`,
      stderr: "",
    });
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(bin))).map((e) => e.name),
      ["em"],
    );
  },
});
