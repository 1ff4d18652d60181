/**
 * The entry of cli/em.js, the one-file bundle the README runs (`deno task bundle` writes it):
 * the dispatcher of cli/main.ts with emtrigger and emwait inside. Every other tool is loaded from
 * its source file when it runs, through a specifier Deno cannot read ahead: for a literal
 * `import("./emd.ts")` Deno loads the whole module graph behind it at start-up, even when that
 * tool never runs (docs/PERFORMANCE.md, "One-shot"). Such an import needs read permission, which
 * the README's commands grant; the two one-shot tools need none.
 * @module
 */
import {
  dispatch,
  programName,
  type Tool,
  TOOL_FILES,
  type ToolModule,
} from "./_dispatch.ts";
import { err, EXIT } from "./_tool.ts";
import * as emtrigger from "./emtrigger.ts";
import * as emwait from "./emwait.ts";

const INSIDE: Readonly<Record<string, ToolModule>> = { emtrigger, emwait };

/**
 * Loads `cli/<file>` when its tool runs. The specifier is computed, so Deno does not see it ahead
 * (and needs read permission for it); without that permission the tool fails saying so.
 */
function loadSource(file: string): Promise<ToolModule> {
  const url = new URL(["./", file].join(""), import.meta.url);
  const read = Deno.permissions.querySync({ name: "read", path: url });
  if (read.state === "granted") return import(url.href);
  return Promise.resolve({
    run: () => {
      err(
        `em: Cannot load "${url.pathname}": cli/em.js reads every tool but emtrigger and emwait from its source file, which needs read permission (--allow-read)`,
      );
      return Promise.resolve(EXIT.FAILURE);
    },
  });
}

const TOOLS: Readonly<Record<string, Tool>> = Object.fromEntries(
  Object.entries(TOOL_FILES).map(([name, { summary, file }]) => {
    const inside = INSIDE[name];
    const load = inside === undefined
      ? () => loadSource(file)
      : () => Promise.resolve(inside);
    return [name, { summary, load }];
  }),
);

if (import.meta.main) {
  Deno.exitCode = await dispatch(
    TOOLS,
    await programName(Deno.args),
    Deno.args,
  );
}
