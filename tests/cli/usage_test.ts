// Every tool's argument handling, through real processes: usage errors (exit 64, usage on stderr),
// --help and --version (exit 0, stdout), and an unreachable server (exit 1, one stderr line).
import assert from "node:assert/strict";
import { helpText, type ToolSpec, versionLine } from "../../cli/_tool.ts";
import { HELP, TOOLS } from "../../cli/main.ts";
import { closedPort, runTool, type ToolResult } from "../_helpers/cli.ts";
// emd's modules, loaded by specOf("emd") inside a test, open libc once for the process
// (server/send_now.ts): loaded here first, that library is not counted as the test's leak.
import "../../server/send_now.ts";

const NAMES = Object.keys(TOOLS);

async function specOf(name: string): Promise<ToolSpec> {
  return (await TOOLS[name]!.load() as unknown as { spec: ToolSpec }).spec;
}

async function usageOf(name: string): Promise<string> {
  return `Usage: ${name} ${(await specOf(name)).usage}`;
}

async function helpOf(name: string): Promise<string> {
  return `${await usageOf(name)}\n\n${helpText(await specOf(name))}\n`;
}

async function usageError(name: string, reason: string): Promise<ToolResult> {
  return {
    code: 64,
    stdout: "",
    stderr: `${name}: ${reason}\n${await usageOf(
      name,
    )}\nTry "${name} --help".\n`,
  };
}

/** Processes run at once: enough to overlap start-up, few enough for a shared 2-core machine. */
const CONCURRENCY = 4;

/** Runs every case, a few at a time, and compares all whole results at once. */
async function assertResults(
  cases: ReadonlyArray<readonly [string[], ToolResult | Promise<ToolResult>]>,
): Promise<void> {
  const actual: ToolResult[] = [];
  for (let start = 0; start < cases.length; start += CONCURRENCY) {
    const batch = cases.slice(start, start + CONCURRENCY);
    actual.push(...await Promise.all(batch.map(([args]) => runTool(args))));
  }
  const expected = await Promise.all(cases.map(([, result]) => result));
  assert.deepEqual(
    cases.map(([args], i) => ({ args, ...actual[i] })),
    cases.map(([args], i) => ({ args, ...expected[i] })),
  );
}

Deno.test("tools: bad arguments print the usage on stderr and exit 64", async () => {
  const name = "invalid server name";
  const event = "invalid event name";
  const port = "invalid port";
  const emdPorts = "use 1 to 65535 (--free-port picks a free one)";
  await assertResults([
    [["emd", "0", "srv"], usageError("emd", `${port} "0": ${emdPorts}`)],
    [
      ["emd", "70000", "srv"],
      usageError("emd", `${port} "70000": ${emdPorts}`),
    ],
    [["emd", "-1", "srv"], usageError("emd", `${port} "-1": ${emdPorts}`)],
    [
      ["emd", "--free-port", "4000", "srv"],
      usageError(
        "emd",
        "--free-port takes no port argument: expected 1 argument (server_name), got 2",
      ),
    ],
    [
      ["emd", "4000", "bad-name"],
      usageError("emd", `${name} "bad-name": use [A-Za-z0-9_]+`),
    ],
    [
      ["emd", "4000"],
      usageError(
        "emd",
        "expected 2 arguments (port server_name), got 1; --free-port picks a free port",
      ),
    ],
    [
      ["emd", "--bogus", "4000", "srv"],
      usageError("emd", 'unknown option "--bogus"'),
    ],
    [["emwait", "h", "0", "ev", "1"], usageError("emwait", 'invalid port "0"')],
    [
      ["emwait", "h", "1", "e-v", "1"],
      usageError("emwait", `${event} "e-v": use [A-Za-z0-9_]+`),
    ],
    [
      ["emwait", "h", "1", "ev", "-2"],
      usageError("emwait", 'invalid ms_timeout "-2": use milliseconds or -1'),
    ],
    [
      ["emwait", "h", "1", "ev"],
      usageError(
        "emwait",
        "expected 4 arguments (or 2 with -s HOST:PORT or EM_SERVER), got 3",
      ),
    ],
    [
      ["emwait", "-x", "h", "1", "ev", "1"],
      usageError("emwait", 'unknown option "-x"'),
    ],
    [
      ["emtrigger", "h", "port", "ev"],
      usageError("emtrigger", 'invalid port "port"'),
    ],
    [
      ["emtrigger", "h", "1", "e v"],
      usageError("emtrigger", `${event} "e v": use [A-Za-z0-9_]+`),
    ],
    [
      ["emtrigger", "h", "1", "ev", "x"],
      usageError(
        "emtrigger",
        "expected 3 arguments (or 1 with -s HOST:PORT or EM_SERVER), got 4",
      ),
    ],
    [
      ["emtrigger", "--bogus", "h", "1", "ev"],
      usageError("emtrigger", 'unknown option "--bogus"'),
    ],
    [
      ["emquit", "h", "65536", "srv"],
      usageError("emquit", 'invalid port "65536"'),
    ],
    [
      ["emquit", "h", "1", "srv!"],
      usageError("emquit", `${name} "srv!": use [A-Za-z0-9_]+`),
    ],
    [
      ["emquit"],
      usageError(
        "emquit",
        "expected 3 arguments (or 1 with -s HOST:PORT or EM_SERVER), got 0",
      ),
    ],
    [
      ["emlock", "h", "1", "deploy", "make", "all"],
      usageError("emlock", '"--" is missing before the command "make all"'),
    ],
    [
      ["emsem", "h", "1", "pool", "3", "make"],
      usageError("emsem", '"--" is missing before the command "make"'),
    ],
    [
      ["emquit", "-q", "h", "1", "srv"],
      usageError("emquit", 'unknown option "-q"'),
    ],
  ]);
});

Deno.test("tools: --help and --version print on stdout and exit 0", async () => {
  await assertResults(NAMES.flatMap((name) =>
    [
      [
        [name, "--help"],
        helpOf(name).then((stdout) => ({ code: 0, stdout, stderr: "" })),
      ],
      [[name, "--version"], {
        code: 0,
        stdout: `${versionLine(name)}\n`,
        stderr: "",
      }],
    ] as const
  ));
});

Deno.test("em: --help, --version and an unknown or missing tool", async () => {
  const emUsage = (reason: string) => ({
    code: 64,
    stdout: "",
    stderr: `em: ${reason}\nUsage: em TOOL [ARGS…]\nTry "em --help".\n`,
  });
  await assertResults([
    [["--help"], { code: 0, stdout: `${HELP}\n`, stderr: "" }],
    [["--version"], { code: 0, stdout: `${versionLine("em")}\n`, stderr: "" }],
    [["emnope", "x"], emUsage('unknown tool "emnope"')],
    [[], emUsage("no tool given")],
  ]);
  for (const name of NAMES) assert.match(HELP, new RegExp(`^  ${name} `, "m"));
});

Deno.test("tools: an unreachable server gives one stderr line and exit 1", async () => {
  const port = String(closedPort());
  const refused = (name: string) => ({
    code: 1,
    stdout: "",
    stderr:
      `${name}: Cannot connect to "127.0.0.1:${port}": connection refused\n`,
  });
  await assertResults([
    [["emwait", "127.0.0.1", port, "ev", "1000"], refused("emwait")],
    [["emwait", "127.0.0.1", port, "ev", "-1"], refused("emwait")],
    [["emtrigger", "127.0.0.1", port, "ev"], refused("emtrigger")],
    [["emquit", "127.0.0.1", port, "srv"], refused("emquit")],
  ]);
});
