/**
 * Starts the cluster workload's server processes (emd, or bench/_cluster_node.ts) and waits for
 * their `listening on HOST:PORT` line.
 * @module
 */

/** A running emd process (clustered or not) and its port. */
export interface EmdProcess {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** Runs `deno run -A ARGS…` until it prints `listening on HOST:PORT`. */
export async function spawnListening(args: string[]): Promise<EmdProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`emd exited before listening: ${text}`);
    text += new TextDecoder().decode(value);
    const match = text.match(/listening on [^\s]+:(\d+)/);
    if (match) {
      reader.releaseLock();
      void child.stdout.cancel();
      return {
        port: Number(match[1]),
        pid: child.pid,
        async stop() {
          try {
            child.kill("SIGTERM");
          } catch { /* exited */ }
          await child.status;
        },
        async kill() {
          child.kill("SIGKILL");
          await child.status;
        },
      };
    }
  }
}
