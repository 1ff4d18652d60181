/**
 * em's one entry point: runs the tool named by the program's own name (a copy or symlink called
 * emwait runs emwait) or by the first argument (`em emwait …`). Each tool's module is loaded only
 * when that tool runs. cli/em_bundle.js, the bundle the README runs, starts faster (cli/bundle_entry.ts).
 * @module
 */
import {
  dispatch,
  helpText,
  programName,
  type Tool,
  TOOL_FILES,
  type ToolModule,
  toolName,
} from "./_dispatch.ts";

/** What `em --help` prints. */
export const HELP: string = helpText();

export { toolName };

/** How this entry loads each tool: a literal import each, so `deno compile` embeds them all. */
const LOADERS: Readonly<Record<string, () => Promise<ToolModule>>> = {
  emd: () => import("./emd.ts"),
  emwait: () => import("./emwait.ts"),
  emtrigger: () => import("./emtrigger.ts"),
  emquit: () => import("./emquit.ts"),
  emsub: () => import("./emsub.ts"),
  emcall: () => import("./emcall.ts"),
  "install-links": () => import("./install_links.ts"),
  emtail: () => import("./emtail.ts"),
  emlock: () => import("./emlock.ts"),
  emsem: () => import("./emsem.ts"),
  embarrier: () => import("./embarrier.ts"),
  emstat: () => import("./emstat.ts"),
};

/** Tool names, what each does and how to load it. */
export const TOOLS: Readonly<Record<string, Tool>> = Object.fromEntries(
  Object.entries(TOOL_FILES).map((
    [name, { summary }],
  ) => [name, { summary, load: LOADERS[name]! }]),
);

/** Picks and runs a tool; returns the exit code. */
export function main(argv0: string, args: string[]): Promise<number> {
  return dispatch(TOOLS, argv0, args);
}

export { programName };

if (import.meta.main) {
  Deno.exitCode = await main(await programName(Deno.args), Deno.args);
}
