import { basename, dirname, join, resolve } from "node:path";
import {
  err,
  EXIT,
  out,
  parseTool,
  reportFailure,
  type ToolSpec,
} from "./_tool.ts";
import { TOOL_FILES } from "./_dispatch.ts";

/** install-links' command line. */
export const spec: ToolSpec = {
  name: "install-links",
  usage: "[--copy] [--force] [--binary PATH] DIR",
  help:
    `Creates one link per em tool (emd, emwait, emtrigger, emquit, …) in DIR, each
pointing at the em binary, so each tool runs under its own name.

Options:
  --copy          copy the binary instead of linking (platforms or file systems
                  without symlinks, e.g. Windows without developer mode)
  --force         replace files that are already there
  --binary PATH   link to PATH instead of the running binary (needed under
                  "deno run", where the running binary is deno itself)
  -h, --help, --version

On Windows, or when the binary's name ends in .exe, the links end in .exe too.
A link that already points at the binary is left alone.
Exit 0: all links in place. Exit 1: DIR missing, a file in the way (without
--force) or not permitted. Exit 64: bad arguments.`,
  options: {
    copy: { type: "boolean" },
    force: { type: "boolean" },
    binary: { type: "string" },
  },
  minPositionals: 1,
  maxPositionals: 1,
};

/** How links are made. */
export interface InstallLinksOptions {
  /**
   * Copy the binary instead of creating symlinks.
   * @default false
   */
  readonly copy?: boolean;
  /**
   * Replace files that are already in the way.
   * @default false
   */
  readonly force?: boolean;
}

/** Runs install-links: links every other tool's name (cli/_dispatch.ts) to the binary. */
export function run(args: string[]): Promise<number> {
  const names = Object.keys(TOOL_FILES).filter((name) => name !== spec.name);
  return runFor(names, args);
}

async function runFor(
  names: readonly string[],
  args: string[],
): Promise<number> {
  const parsed = parseTool(spec, args);
  if (typeof parsed === "number") return parsed;
  const binary = parsed.values.binary as string | undefined ?? runningBinary();
  if (binary === undefined) return EXIT.FAILURE;
  try {
    const lines = await installLinks(binary, parsed.positionals[0]!, names, {
      copy: parsed.values.copy === true,
      force: parsed.values.force === true,
    });
    for (const line of lines) out(line);
    return EXIT.OK;
  } catch (error) {
    return reportFailure(spec.name, error);
  }
}

/** The compiled em binary this process runs from; undefined (and a stderr line) under `deno run`. */
function runningBinary(): string | undefined {
  if (Deno.build.standalone) return Deno.execPath();
  err(
    `install-links: Cannot link to "${Deno.execPath()}": em runs under "deno run", so the running binary is deno itself; use the compiled binary ("deno task compile" makes dist/em) or pass --binary PATH`,
  );
  return undefined;
}

/**
 * Creates DIR/<name> for each name, a symlink to (or a copy of) `binary`; returns one line per
 * link saying what was done.
 * @throws {TypeError} when DIR is missing, a file is in the way without `force`, or not permitted
 */
export async function installLinks(
  binary: string,
  dir: string,
  names: readonly string[],
  options: InstallLinksOptions = {},
): Promise<string[]> {
  await requireDirectory(dir);
  await requireFile(binary);
  const suffix = Deno.build.os === "windows" || /\.exe$/i.test(binary)
    ? ".exe"
    : "";
  // a link beside the binary points at its bare name, so the pair can move together
  const target = resolve(dirname(binary)) === resolve(dir)
    ? basename(binary)
    : resolve(binary);
  const lines: string[] = [];
  for (const name of names) {
    const path = join(dir, name + suffix);
    lines.push(await placeOne(path, binary, target, options));
  }
  return lines;
}

async function placeOne(
  path: string,
  binary: string,
  target: string,
  options: InstallLinksOptions,
): Promise<string> {
  if (resolve(path) === resolve(binary)) return `${path} is the binary itself`;
  const existing = await lstatOrUndefined(path);
  if (existing !== undefined) {
    if (!options.copy && existing.isSymlink) {
      if (await Deno.readLink(path) === target) return `${path} -> ${target}`;
    }
    if (!options.force) {
      throw new TypeError(
        `Cannot create "${path}": a file is already there (--force replaces it)`,
      );
    }
    await Deno.remove(path);
  }
  try {
    if (options.copy) {
      await Deno.copyFile(binary, path);
      return `${path} (copy of ${binary})`;
    }
    await Deno.symlink(target, path, { type: "file" });
    return `${path} -> ${target}`;
  } catch (error) {
    throw new TypeError(
      `Cannot create "${path}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}

async function requireDirectory(dir: string): Promise<void> {
  const info = await statOrUndefined(dir);
  if (info?.isDirectory) return;
  throw new TypeError(`Cannot install links in "${dir}": not a directory`);
}

async function requireFile(binary: string): Promise<void> {
  const info = await statOrUndefined(binary);
  if (info?.isFile) return;
  throw new TypeError(`Cannot link to "${binary}": not a file`);
}

function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  return infoOrUndefined(path, Deno.stat);
}

function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  return infoOrUndefined(path, Deno.lstat);
}

async function infoOrUndefined(
  path: string,
  stat: (path: string) => Promise<Deno.FileInfo>,
): Promise<Deno.FileInfo | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new TypeError(`Cannot read "${path}": ${(error as Error).message}`, {
      cause: error,
    });
  }
}
