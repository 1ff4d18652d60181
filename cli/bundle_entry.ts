/**
 * The entry of cli/em_bundle.js, the one-file bundle the README runs (`deno task bundle` writes it):
 * the dispatcher of cli/main.ts with the one-shot paths of emtrigger and emwait inside (their
 * `runOneShot`: a plain trigger, a wait, on one server). Every other tool, and those two when they
 * need the library client (`--latch`, `--reset`, `--data`, a server list), runs from its source
 * file, loaded through a specifier Deno cannot read ahead: for a literal `import("./emd.ts")` Deno
 * loads the whole module graph behind it at start-up, even when that tool never runs
 * (docs/PERFORMANCE.md, "One-shot start-up, round 2"). Such an import needs read permission, which
 * the README's commands grant; the one-shot paths need none.
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
import { runOneShot as emtrigger } from "./emtrigger.ts";
import { runOneShot as emwait } from "./emwait.ts";

/** The tools inside: their one-shot paths, which return undefined when the source must run. */
const INSIDE: Readonly<
  Record<string, (args: string[]) => Promise<number | undefined>>
> = { emtrigger, emwait };

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
        `em: Cannot load "${url.pathname}": cli/em_bundle.js runs it from its source file, which needs read permission (--allow-read)`,
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
      : () =>
        Promise.resolve({
          run: async (args: string[]) =>
            await inside(args) ?? await (await loadSource(file)).run(args),
        });
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
