/**
 * What the benchmark reads about a process from Linux's /proc: resident memory and CPU time.
 * Elsewhere every reading is `undefined` and the figures that need it are left out.
 * @module
 */

/** Clock ticks per second for /proc/PID/stat times (USER_HZ is 100 on every Linux we target). */
const TICKS_PER_SECOND = 100;

/** VmRSS of process `pid` in KB, or undefined where /proc is missing or the process is gone. */
export function rssKb(pid: number | "self"): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const match = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds used so far by process `pid` (all threads), or undefined. */
export function cpuSeconds(pid: number | "self"): number | undefined {
  const times = cpuTimes(pid);
  return times && times.userSeconds + times.systemSeconds;
}

/** CPU seconds used so far by process `pid` (all threads), in user space and in the kernel. */
export interface CpuTimes {
  /** Running the program itself (for Deno: JavaScript and the runtime). */
  readonly userSeconds: number;
  /** In the kernel on its behalf (system calls: for a server mostly its sockets). */
  readonly systemSeconds: number;
}

/** {@link CpuTimes} of process `pid`, or undefined where /proc is missing or the process is gone. */
export function cpuTimes(pid: number | "self"): CpuTimes | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // fields after the command name, which is in parentheses and may contain spaces
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const user = Number(fields[11]), system = Number(fields[12]); // utime, stime (fields 14, 15)
    if (!Number.isFinite(user) || !Number.isFinite(system)) return undefined;
    return {
      userSeconds: user / TICKS_PER_SECOND,
      systemSeconds: system / TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}

/** Measures the CPU share of a set of processes between `start()` and `stop()`. */
export class CpuMeter {
  #pids: Array<number | "self">;
  #startSeconds: Array<number | undefined> = [];
  #startMs = 0;

  constructor(pids: Array<number | "self">) {
    this.#pids = pids;
  }

  /** Takes the starting reading. */
  start(): void {
    this.#startMs = performance.now();
    this.#startSeconds = this.#pids.map((pid) => cpuSeconds(pid));
  }

  /** CPU used since `start()`, in % of one core (summed over the processes), or undefined. */
  stop(): number | undefined {
    const elapsed = (performance.now() - this.#startMs) / 1000;
    let used = 0;
    for (const [i, pid] of this.#pids.entries()) {
      const before = this.#startSeconds[i];
      const after = cpuSeconds(pid);
      if (before === undefined || after === undefined) return undefined;
      used += after - before;
    }
    return elapsed > 0 ? Math.round((used / elapsed) * 100) : undefined;
  }
}

/** Milliseconds since the Unix epoch with sub-millisecond resolution: comparable across processes. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
