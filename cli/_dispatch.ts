/**
 * Picking a tool by name: the table of em's tools and the dispatch that cli/main.ts and the
 * bundle's entry (cli/bundle_entry.ts) share; each of them says how it loads a tool's module.
 * @module
 */
import { EXIT, out, usageError, versionLine } from "./_tool.ts";

/** What a tool's module gives the dispatcher. */
export interface ToolModule {
  run(args: string[]): Promise<number>;
}

/** A tool: what `em --help` says about it and how its module is loaded. */
export interface Tool {
  readonly summary: string;
  readonly load: () => Promise<ToolModule>;
}

/** Every tool, by name: its one-line summary and the file in cli/ that runs it. */
export const TOOL_FILES: Readonly<
  Record<string, { readonly summary: string; readonly file: string }>
> = {
  emd: { summary: "run the em server", file: "emd.ts" },
  emwait: { summary: "wait for an event", file: "emwait.ts" },
  emtrigger: { summary: "trigger an event", file: "emtrigger.ts" },
  emquit: { summary: "stop a server", file: "emquit.ts" },
  emsub: { summary: "print data events", file: "emsub.ts" },
  emcall: { summary: "call an agent's verb", file: "emcall.ts" },
  "install-links": {
    summary: "link every tool name to this binary",
    file: "install_links.ts",
  },
  emtail: { summary: "log lines to events", file: "emtail.ts" },
  emlock: { summary: "run a command holding a lock", file: "emlock.ts" },
  emsem: {
    summary: "run a command holding a semaphore permit",
    file: "emsem.ts",
  },
  embarrier: { summary: "wait until N parties arrive", file: "embarrier.ts" },
  emstat: { summary: "report what a server is doing", file: "emstat.ts" },
};

/** What `em --help` prints. */
export function helpText(): string {
  return `Usage: em TOOL [ARGS…]   (or call the tool by its own name: emd, emwait, …)

Tools:
${
    Object.entries(TOOL_FILES).map(([name, tool]) =>
      `  ${name.padEnd(14)} ${tool.summary}`
    ).join("\n")
  }

"em TOOL --help" describes a tool. Exit codes: 0 ok, 1 failure, 2 timeout, 64 usage.`;
}

/** The tool name a program path stands for: its basename without `.exe`. */
export function toolName(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? "";
  return base.replace(/\.exe$/i, "");
}

/** Picks a tool of `tools` by `argv0`'s name, else by the first argument, and runs it. */
export async function dispatch(
  tools: Readonly<Record<string, Tool>>,
  argv0: string,
  args: string[],
): Promise<number> {
  let name = toolName(argv0);
  if (!(name in tools)) {
    const [first, ...rest] = args;
    if (first === "--version") return out(versionLine("em")), EXIT.OK;
    if (first === "--help" || first === "-h") return out(helpText()), EXIT.OK;
    if (first === undefined || !(first in tools)) {
      return usageError(
        {
          name: "em",
          usage: "TOOL [ARGS…]",
          help: helpText(),
          minPositionals: 1,
          maxPositionals: 1,
        },
        first === undefined ? "no tool given" : `unknown tool "${first}"`,
      );
    }
    name = first;
    args = rest;
  }
  const tool = await tools[name]!.load();
  return await tool.run(args);
}

/**
 * The name this process was started under (its argv[0]), as far as dispatch needs it. When the
 * first argument names a tool, the `em TOOL` form is taken as meant without asking: argv[0] costs
 * either /proc/self/cmdline, which Deno 2.9 lets only `--allow-all` read (`--allow-read` is not
 * enough), or node:process, whose import starts Deno's Node layer (40 ms and more, twice a
 * one-shot tool's whole run). So a copy or link named after a tool whose first argument is another
 * tool's name runs that other tool (`emwait emd …`: a host named "emd" is the only such case).
 */
export async function programName(args: readonly string[]): Promise<string> {
  if (args[0] !== undefined && args[0] in TOOL_FILES) return "em";
  if (Deno.build.os === "linux") {
    try {
      return Deno.readTextFileSync("/proc/self/cmdline").split("\0")[0]!;
    } catch {
      /* not readable without --allow-all: ask Node's process object */
    }
  }
  return (await import("node:process")).default.argv0;
}
