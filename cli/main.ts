/**
 * em's one entry point: runs the tool named by the program's own name (a copy or symlink called
 * emwait runs emwait) or by the first argument (`em emwait …`).
 * @module
 */
import { EXIT, out, usageError, versionLine } from "./_tool.ts";

type Run = (args: string[]) => Promise<number>;

/** Tool names and how to load each; loaded lazily so a one-shot tool starts fast. */
export const TOOLS: Readonly<
  Record<string, { summary: string; load: () => Promise<{ run: Run }> }>
> = {
  emd: { summary: "run the em server", load: () => import("./emd.ts") },
  emwait: { summary: "wait for an event", load: () => import("./emwait.ts") },
  emtrigger: {
    summary: "trigger an event",
    load: () => import("./emtrigger.ts"),
  },
  emquit: { summary: "stop a server", load: () => import("./emquit.ts") },
  emsub: { summary: "print data events", load: () => import("./emsub.ts") },
  emcall: {
    summary: "call an agent's verb",
    load: () => import("./emcall.ts"),
  },
  "install-links": {
    summary: "link every tool name to this binary",
    load: () =>
      import("./install_links.ts").then((m) => m.forTools(Object.keys(TOOLS))),
  },
  emtail: { summary: "log lines to events", load: () => import("./emtail.ts") },
  emlock: {
    summary: "run a command holding a lock",
    load: () => import("./emlock.ts"),
  },
  emsem: {
    summary: "run a command holding a semaphore permit",
    load: () => import("./emsem.ts"),
  },
  embarrier: {
    summary: "wait until N parties arrive",
    load: () => import("./embarrier.ts"),
  },
  emstat: {
    summary: "report what a server is doing",
    load: () => import("./emstat.ts"),
  },
};

/** What `em --help` prints. */
export const HELP =
  `Usage: em TOOL [ARGS…]   (or call the tool by its own name: emd, emwait, …)

Tools:
${
    Object.entries(TOOLS).map(([name, tool]) =>
      `  ${name.padEnd(14)} ${tool.summary}`
    ).join("\n")
  }

"em TOOL --help" describes a tool. Exit codes: 0 ok, 1 failure, 2 timeout, 64 usage.`;

/** The tool name a program path stands for: its basename without `.exe`. */
export function toolName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? "";
  return base.replace(/\.exe$/i, "");
}

/** Picks and runs a tool; returns the exit code. */
export async function main(argv0: string, args: string[]): Promise<number> {
  let name = toolName(argv0);
  if (!(name in TOOLS)) {
    const [first, ...rest] = args;
    if (first === "--version") return out(versionLine("em")), EXIT.OK;
    if (first === "--help" || first === "-h") return out(HELP), EXIT.OK;
    if (first === undefined || !(first in TOOLS)) {
      return usageError(
        {
          name: "em",
          usage: "TOOL [ARGS…]",
          help: HELP,
          minPositionals: 1,
          maxPositionals: 1,
        },
        first === undefined ? "no tool given" : `unknown tool "${first}"`,
      );
    }
    name = first;
    args = rest;
  }
  const tool = await TOOLS[name]!.load();
  return await tool.run(args);
}

/**
 * The name this process was started under (its argv[0]), read from /proc when allowed: importing
 * node:process for it starts Deno's Node layer, a third of a one-shot tool's start-up. Without
 * read permission and with a tool name as first argument (`deno run --allow-net cli/main.ts
 * emtrigger …`), the `em TOOL` form is taken as meant and the Node layer is not started; a copy or
 * link named after a tool always has read permission (the compiled binary carries it).
 */
export async function programName(args: readonly string[]): Promise<string> {
  const cmdline = "/proc/self/cmdline";
  const read = Deno.build.os === "linux" &&
    Deno.permissions.querySync({ name: "read", path: cmdline }).state ===
      "granted";
  if (read) {
    try {
      return Deno.readTextFileSync(cmdline).split("\0")[0]!;
    } catch { /* no /proc here: ask Node's process object */ }
  } else if (args[0] !== undefined && args[0] in TOOLS) return "em";
  return (await import("node:process")).default.argv0;
}

if (import.meta.main) {
  Deno.exitCode = await main(await programName(Deno.args), Deno.args);
}
