/** Helpers for tests of emd's data directory (`--data DIR`). */

/** A directory that lets nobody create files in it; dispose makes it writable and removes it. */
export interface UnwritableDirectory extends AsyncDisposable {
  readonly path: string;
}

async function chattr(flag: "+i" | "-i", path: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("chattr", {
      args: [flag, path],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false; // no chattr on this system
  }
}

function canWriteIn(path: string): boolean {
  try {
    Deno.writeTextFileSync(`${path}/probe`, "x");
    Deno.removeSync(`${path}/probe`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes an empty directory nobody can write to: mode 0555, and for root (whom modes do not stop)
 * the immutable attribute. Returns undefined where neither works (root without chattr).
 */
export async function unwritableDirectory(): Promise<
  UnwritableDirectory | undefined
> {
  const path = Deno.makeTempDirSync({ prefix: "em_unwritable_" });
  Deno.chmodSync(path, 0o555);
  let immutable = false;
  if (canWriteIn(path)) immutable = await chattr("+i", path);
  const dispose = async () => {
    if (immutable) await chattr("-i", path);
    Deno.chmodSync(path, 0o755);
    Deno.removeSync(path, { recursive: true });
  };
  if (canWriteIn(path)) {
    await dispose();
    return undefined;
  }
  return { path, [Symbol.asyncDispose]: dispose };
}

/** Why tests needing {@link unwritableDirectory} cannot run here, or undefined when they can. */
export async function unwritableUnsupported(): Promise<string | undefined> {
  const dir = await unwritableDirectory();
  if (dir === undefined) {
    return "root can write to any directory here and chattr +i is unavailable";
  }
  await dir[Symbol.asyncDispose]();
  return undefined;
}

/** A new temporary directory, removed with everything in it on dispose. */
export function tempDir(prefix = "em_data_"): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix });
  return {
    path,
    [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }),
  };
}
