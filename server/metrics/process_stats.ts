import process from "node:process";
import type { ProcessStats } from "./stats.ts";

const FD_DIR = "/proc/self/fd";

/** The process's resident memory, CPU time, open descriptors and start time. */
export function processStats(): ProcessStats {
  const { user, system } = process.cpuUsage(); // microseconds
  const openFds = countOpenFds();
  return {
    residentMemoryBytes: Deno.memoryUsage().rss,
    cpuSecondsTotal: (user + system) / 1e6,
    ...(openFds === undefined ? {} : { openFds }),
    startTimeSeconds: Math.round(performance.timeOrigin) / 1000,
  };
}

/** Entries of /proc/self/fd (one is the listing itself); undefined without /proc or permission. */
function countOpenFds(): number | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const permission = Deno.permissions.querySync({ name: "read", path: FD_DIR });
  if (permission.state !== "granted") return undefined;
  try {
    let count = 0;
    for (const _ of Deno.readDirSync(FD_DIR)) count++;
    return Math.max(0, count - 1);
  } catch {
    return undefined;
  }
}
