import assert from "node:assert/strict";
import { join } from "node:path";
import { EXIT, type ToolSpec } from "../../cli/_tool.ts";
import { TOOLS } from "../../cli/main.ts";
import { startServer } from "../../mod.ts";
import {
  closedPort,
  runTool,
  spawnTool,
  type ToolResult,
} from "../_helpers/cli.ts";

const root = new URL("../../", import.meta.url);

/** The codes of the README's exit-code table, in order. */
async function readmeCodes(): Promise<number[]> {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const section = readme.split(/^## /m).find((s) =>
    s.startsWith("CLI reference")
  );
  assert.ok(section, 'README has no "## CLI reference" section');
  return [...section.matchAll(/^\| (\d+) +\| /gm)].map((m) => Number(m[1]));
}

async function specOf(name: string): Promise<ToolSpec> {
  const tool = await TOOLS[name]!.load() as { spec?: ToolSpec };
  assert.ok(tool.spec, `${name} exports no spec`);
  return tool.spec;
}

/** Values for a usage line's placeholders; any other placeholder gets "x". */
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  hostname: "127.0.0.1",
  ms_timeout: "10000",
  parties: "2",
  permits: "1",
  "--": "--",
  command: "true",
  "api/verb": "api/verb",
};

/** Arguments that make a client tool fail for want of a server: read from its usage line. */
function unreachableArgs(spec: ToolSpec): string[] {
  const port = String(closedPort());
  const placeholders = spec.usage.split("\n")[0]!.replace(/\[[^\]]*\]/g, " ")
    .trim().split(/\s+/);
  assert.deepEqual(placeholders.slice(0, 2), ["hostname", "port"], spec.usage);
  return placeholders.map((word) =>
    word === "port" ? port : PLACEHOLDERS[word] ?? "x"
  );
}

/** Runs `em args…`, killing it (and failing) if it has not exited within 30 s. */
async function runBounded(args: string[]): Promise<ToolResult> {
  const run = spawnTool(args);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill("SIGKILL");
      reject(new Error(`"em ${args.join(" ")}" still running after 30 s`));
    }, 30_000);
  });
  try {
    return await Promise.race([run.result, limit]);
  } finally {
    clearTimeout(timer);
    await run.result;
  }
}

/** Runs the tool's failure case (exit 1): unreachable server, or what failing means for it. */
async function runFailure(name: string, spec: ToolSpec) {
  if (name === "emd") {
    using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return await runTool(["emd", String(busy.addr.port), "t"]);
  }
  if (name === "install-links") {
    const dir = await Deno.makeTempDir();
    try {
      const missing = join(dir, "missing");
      return await runTool([name, "--binary", Deno.execPath(), missing]);
    } finally {
      await Deno.remove(dir);
    }
  }
  return await runBounded([name, ...unreachableArgs(spec)]);
}

Deno.test("exit codes: the README table is the EXIT contract", async () => {
  assert.deepEqual(await readmeCodes(), Object.values(EXIT));
  assert.deepEqual(EXIT, { OK: 0, FAILURE: 1, TIMEOUT: 2, USAGE: 64 });
});

for (const name of Object.keys(TOOLS)) {
  Deno.test(`exit codes: ${name} usage 64, failure 1, --help 0`, async () => {
    const spec = await specOf(name);
    assert.equal(spec.name, name);
    const usage = await runTool([name, "--no-such-option"]);
    assert.equal(usage.code, EXIT.USAGE, usage.stderr);
    assert.equal(usage.stdout, "");
    assert.match(usage.stderr, new RegExp(`^${name}: .+\nUsage: ${name} `));

    const failure = await runFailure(name, spec);
    assert.equal(failure.code, EXIT.FAILURE, failure.stderr);
    assert.match(failure.stderr, new RegExp(`^${name}: [^\n]+\n$`));

    const help = await runTool([name, "--help"]);
    assert.equal(help.code, EXIT.OK, help.stderr);
    assert.ok(help.stdout.startsWith(`Usage: ${name} ${spec.usage}\n`));
    assert.equal(help.stderr, "");
  });
}

Deno.test("exit codes: emwait timing out prints timeout and exits 2", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const result = await runTool([
    "emwait",
    "127.0.0.1",
    String(server.addr.port),
    "x",
    "1",
  ]);
  assert.deepEqual(result, {
    code: EXIT.TIMEOUT,
    stdout: "timeout\n",
    stderr: "",
  });
});
