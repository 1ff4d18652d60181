/**
 * A receiver process of the benchmark: `deno run _worker.ts '{"port":P,"subs":N}'` opens N
 * receiving connections, then answers one JSON command per stdin line with one JSON event per
 * stdout line (see `WorkerCommand`). Spawned by `_pool.ts`; not meant to be run by hand.
 * @module
 */
import { ReceiverSet } from "./_receivers.ts";
import { cpuSeconds } from "./_proc.ts";

/** What the pool asks a worker to do. */
export type WorkerCommand =
  | { cmd: "await"; what: "ready" | "fenced"; timeoutMs: number }
  | { cmd: "phase"; messages: number }
  | { cmd: "finish"; idleMs: number; deadlineMs: number }
  | { cmd: "stats" }
  | { cmd: "stall" }
  | { cmd: "drain"; idleMs: number; timeoutMs: number }
  | { cmd: "close" };

const encoder = new TextEncoder();

function emit(event: Record<string, unknown>): void {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(event) + "\n"));
}

async function answer(set: ReceiverSet, command: WorkerCommand) {
  switch (command.cmd) {
    case "await":
      await set.awaitProbe(command.what, command.timeoutMs);
      return { ev: command.what };
    case "phase":
      set.startPhase(command.messages);
      return { ev: "armed" };
    case "finish": {
      const stats = await set.finishPhase(command.idleMs, command.deadlineMs);
      return { ev: "stats", stats };
    }
    case "stats":
      return { ev: "stats", stats: set.stats() };
    case "stall":
      set.stall();
      return { ev: "stalled" };
    case "drain":
      return {
        ev: "drained",
        ...await set.drainUntilClosed(command.idleMs, command.timeoutMs),
      };
    case "close":
      await set.close();
      return { ev: "closed", cpuSeconds: cpuSeconds("self") ?? null };
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(Deno.args[0] ?? "{}") as {
    port: number;
    subs: number;
    window?: number;
  };
  let set: ReceiverSet;
  try {
    set = await ReceiverSet.connect(config.port, config.subs, {
      window: config.window ?? 64,
    });
  } catch (error) {
    emit({ ev: "error", message: `connect: ${(error as Error).message}` });
    return;
  }
  emit({ ev: "connected", subs: set.size });
  let carry = "";
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    carry += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = carry.indexOf("\n")) !== -1) {
      const line = carry.slice(0, newline);
      carry = carry.slice(newline + 1);
      const command = JSON.parse(line) as WorkerCommand;
      try {
        emit(await answer(set, command));
      } catch (error) {
        emit({ ev: "error", message: (error as Error).message });
      }
      if (command.cmd === "close") return;
    }
  }
  await set.close(); // stdin closed: the pool is gone
}

if (import.meta.main) await main();
