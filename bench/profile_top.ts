/**
 * The functions that used the most CPU in a V8 `.cpuprofile` (what `deno task bench --profile DIR`
 * leaves in DIR): self time and total time (self + callees), in % of all samples.
 *
 * ```sh
 * deno run --allow-read bench/profile_top.ts DIR/CPU.*.cpuprofile [--top 25]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { markdownTable } from "./_table.ts";
import { round, type Row } from "./workload.ts";

interface ProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
  };
  children?: number[];
}

/** A V8 CPU profile, as far as this summary reads it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.split("/").slice(-2).join("/");
  return `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`
    .trim();
}

/** Rows of the `top` functions by self time, with their total time. */
export function topFunctions(profile: CpuProfile, top: number): Row[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (node === undefined) continue;
    self.set(label(node), (self.get(label(node)) ?? 0) + 1);
    const seen = new Set<string>(); // recursion counts once per sample
    for (
      let at: number | undefined = id;
      at !== undefined;
      at = parent.get(at)
    ) {
      const name = label(byId.get(at)!);
      if (!seen.has(name)) total.set(name, (total.get(name) ?? 0) + 1);
      seen.add(name);
    }
  }
  const all = profile.samples.length || 1;
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, count]) => ({
      function: name,
      "self %": round((count / all) * 100, 3),
      "total %": round(((total.get(name) ?? 0) / all) * 100, 3),
    }));
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { top: { type: "string", default: "25" } },
    allowPositionals: true,
  });
  for (const path of positionals) {
    const profile = JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
    // deno-lint-ignore no-console
    console.log(
      `## ${path} (${profile.samples.length} samples)\n\n${
        markdownTable(topFunctions(profile, Number(values.top)))
      }\n`,
    );
  }
}
