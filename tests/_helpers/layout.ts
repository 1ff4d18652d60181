/**
 * The layout rules of STYLE.md as a pure function over import edges, and a reader that collects
 * the edges of the repository with Deno's own parser (`deno info --json`), so comments, strings
 * and dynamic imports are read exactly as Deno reads them.
 */

/** One import: who imports what, and where it resolved (a repository path) when it is a file. */
export interface Edge {
  /** Importing file, relative to the repository root, e.g. `server/server.ts`. */
  readonly from: string;
  /** The specifier as written. */
  readonly specifier: string;
  /** The imported file relative to the root, for relative specifiers that resolved. */
  readonly to?: string;
  /** `import type` / `export type`: erased at run time. */
  readonly typeOnly: boolean;
}

/** Folders (and the root mod.ts) whose imports the rules govern. */
export const SCANNED = ["protocol", "server", "client", "cli", "examples"];

/**
 * Files of another layer that a layer may import: always a front door. A folder has one, its
 * `mod.ts`, and may have a second, narrower one for code that must load little (the one-shot
 * tools): `protocol/line_codec.ts` (the EM line codec without the WebSocket, HTTP and afb codecs)
 * and `client/one_shot.ts` (a connection that triggers and waits once).
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  "mod.ts": ["protocol/mod.ts", "client/mod.ts", "server/mod.ts"],
  protocol: [],
  server: ["protocol/mod.ts", "protocol/line_codec.ts"],
  client: ["protocol/mod.ts", "protocol/line_codec.ts"],
  cli: [
    "protocol/mod.ts",
    "protocol/line_codec.ts",
    "client/mod.ts",
    "client/one_shot.ts",
    "server/mod.ts",
    "deno.json",
  ],
  examples: ["mod.ts"],
};

/** Layers that may use `node:` built-ins and npm packages (through one adapter file each). */
const USES_PLATFORM = new Set(["server", "client", "cli"]);

/** `npm:name@range` or `npm:@scope/name@range`, optionally with a subpath. */
const NPM = /^npm:((?:@[^/@]+\/)?[^/@]+)(?:@([^/]*))?/;
const RANGE = /^[~^]?\d+(\.\d+){0,2}(-[\w.]+)?$|^>=?\d/;

/** The layer of a repository path: its first folder, or `mod.ts` for the root module. */
export function layerOf(path: string): string {
  if (path === "mod.ts") return "mod.ts";
  return path.split("/")[0]!;
}

function folderOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/") + 1);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Every rule broken by `edges`, one line each; empty when the layout is sound. */
export function layoutFaults(edges: readonly Edge[]): string[] {
  const faults: string[] = [];
  const npmUsers = new Map<string, Set<string>>();
  for (const edge of edges) {
    const fault = edgeFault(edge, npmUsers);
    if (fault !== undefined) {
      faults.push(`${edge.from}: imports "${edge.specifier}": ${fault}`);
    }
  }
  for (const [name, users] of npmUsers) {
    if (users.size > 1) {
      faults.push(
        `npm:${name} enters through ${users.size} files (${
          [...users].sort().join(", ")
        }): use one adapter file`,
      );
    }
  }
  for (const cycle of findCycles(edges)) {
    faults.push(`import cycle: ${cycle.join(" → ")}`);
  }
  return faults;
}

function edgeFault(
  edge: Edge,
  npmUsers: Map<string, Set<string>>,
): string | undefined {
  const layer = layerOf(edge.from);
  const { specifier } = edge;
  if (specifier.startsWith("jsr:")) return "jsr: is not allowed";
  if (/^https?:/.test(specifier)) return "remote imports are not allowed";
  if (specifier.startsWith("node:")) {
    return USES_PLATFORM.has(layer) ? undefined : `${layer} may not use node:`;
  }
  if (specifier.startsWith("npm:")) {
    const [, name, range] = specifier.match(NPM) ?? [];
    if (name === undefined) return "not a valid npm: specifier";
    if (!npmUsers.has(name)) npmUsers.set(name, new Set());
    npmUsers.get(name)!.add(edge.from);
    if (range === undefined || !RANGE.test(range)) {
      return "npm: needs a version range, e.g. npm:pkg@^1.2";
    }
    return USES_PLATFORM.has(layer) ? undefined : `${layer} may not use npm:`;
  }
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
    return "bare specifier: use a relative path, node: or npm:pkg@^x";
  }
  const to = edge.to;
  if (to === undefined) return "does not resolve to a repository file";
  if (baseOf(to).startsWith("_") && folderOf(to) !== folderOf(edge.from)) {
    return `${to} is private to ${folderOf(to) || "the root"}`;
  }
  if (layerOf(to) === layer && layer !== "mod.ts") return undefined;
  if (ALLOWED[layer]?.includes(to)) return undefined;
  const doors = ALLOWED[layer]?.join(", ");
  return doors
    ? `${layer} may import only ${doors}`
    : `${layer} may import nothing outside itself`;
}

/**
 * Cycles among imports, type-only ones included: an erased import cannot cycle at run time, but
 * two files that need each other's types have no reading order and belong in one home.
 */
export function findCycles(edges: readonly Edge[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const edge of edges) {
    if (edge.to === undefined) continue;
    graph.set(edge.from, [...(graph.get(edge.from) ?? []), edge.to]);
  }
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") {
        cycles.push([...path.slice(path.indexOf(next)), next]);
      } else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) {
    if (!state.has(node)) visit(node);
  }
  return cycles;
}

interface InfoDependency {
  specifier: string;
  code?: { specifier?: string };
  type?: { specifier?: string };
}

interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/** Every `.ts` file of the scanned folders and the root mod.ts, as repository paths. */
export async function scannedFiles(root: string): Promise<string[]> {
  const files = ["mod.ts"];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await Array.fromAsync(Deno.readDir(`${root}/${dir}`));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && entry.name.endsWith(".ts")) files.push(path);
    }
  };
  for (const dir of SCANNED) await walk(dir);
  return files.sort();
}

/** The import edges of every scanned file, read by `deno info --json` without network. */
export async function readEdges(root: string): Promise<Edge[]> {
  const rootUrl = new URL(`file://${root}/`).href;
  const toPath = (url: string | undefined) =>
    url?.startsWith(rootUrl) ? url.slice(rootUrl.length) : undefined;
  const files = await scannedFiles(root);
  const seen = new Map<string, Edge[]>();
  for (const file of files) {
    if (seen.has(file)) continue; // already in the graph of an earlier root
    for (const module of await info(root, file)) {
      const from = toPath(module.specifier);
      if (from === undefined || seen.has(from)) continue;
      seen.set(
        from,
        (module.dependencies ?? []).map((dependency) => {
          const to = toPath(
            dependency.code?.specifier ?? dependency.type?.specifier,
          );
          return {
            from,
            specifier: dependency.specifier,
            ...(to === undefined ? {} : { to }),
            typeOnly: dependency.code === undefined,
          };
        }),
      );
    }
  }
  return files.flatMap((file) => seen.get(file) ?? []);
}

async function info(root: string, file: string): Promise<InfoModule[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "info",
      "--json",
      "--no-config",
      "--no-lock",
      "--no-remote",
      "--no-npm",
      file,
    ],
    cwd: root,
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(
      `deno info ${file} failed: ${new TextDecoder().decode(output.stderr)}`,
    );
  }
  return (JSON.parse(text) as { modules: InfoModule[] }).modules;
}
