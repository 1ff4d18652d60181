/**
 * The coordinator's side of the receiver processes: spawns `_worker.ts` processes, spreads N
 * receivers over them, and sends each the same command, collecting one answer per worker.
 * @module
 */
import { fileURLToPath } from "node:url";
import { raisedLimitCommand } from "./_emd.ts";
import { reap, withDeadline } from "./_deadline.ts";
import type { PhaseStats } from "./_receivers.ts";
import type { WorkerCommand } from "./_worker.ts";

const WORKER = fileURLToPath(new URL("./_worker.ts", import.meta.url));
const encoder = new TextEncoder();

/** One event line a worker printed. */
export type WorkerEvent = { ev: string; [key: string]: unknown };

class WorkerProcess {
  readonly child: Deno.ChildProcess;
  readonly #events: WorkerEvent[] = [];
  #wake: (() => void) | undefined;
  #stderr = "";
  #ended = false;
  readonly #done: Promise<void>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor(port: number, subs: number) {
    const { program, args } = raisedLimitCommand(Deno.execPath(), [
      "run",
      "--quiet",
      "--allow-net=127.0.0.1",
      "--allow-read=/proc",
      WORKER,
      JSON.stringify({ port, subs }),
    ]);
    this.child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    this.#done = Promise.all([this.#readEvents(), this.#readStderr()]).then(
      () => {},
    );
  }

  async #readEvents(): Promise<void> {
    let carry = "";
    for await (
      const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      carry += chunk;
      let newline;
      while ((newline = carry.indexOf("\n")) !== -1) {
        this.#events.push(JSON.parse(carry.slice(0, newline)));
        carry = carry.slice(newline + 1);
        this.#wake?.();
      }
    }
    this.#ended = true;
    this.#wake?.();
  }

  async #readStderr(): Promise<void> {
    for await (
      const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())
    ) this.#stderr += chunk;
  }

  /** The next event; rejects on an `error` event or when the worker has exited. */
  async next(): Promise<WorkerEvent> {
    while (this.#events.length === 0) {
      if (this.#ended) {
        throw new Error(`Receiver worker exited: ${this.#stderr.trim()}`);
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
    const event = this.#events.shift()!;
    if (event.ev === "error") {
      throw new Error(`Receiver worker: ${event.message}`);
    }
    return event;
  }

  async send(command: WorkerCommand): Promise<void> {
    await this.#writer.write(encoder.encode(JSON.stringify(command) + "\n"));
  }

  /** Closes stdin, kills the process if it lingers, waits for it. */
  async end(): Promise<void> {
    try {
      await this.#writer.close();
    } catch { /* already closed */ }
    await reap(this.child, 5_000);
    await this.#done;
  }
}

/** Receivers spread over worker processes. */
export class WorkerPool implements AsyncDisposable {
  readonly #workers: WorkerProcess[];
  /** Receivers per worker, in worker order. */
  readonly sizes: readonly number[];

  private constructor(workers: WorkerProcess[], sizes: number[]) {
    this.#workers = workers;
    this.sizes = sizes;
  }

  /** Starts `workers` processes holding `subs` receivers in all; resolves once all connected. */
  static async start(
    port: number,
    subs: number,
    workers: number,
  ): Promise<WorkerPool> {
    const count = Math.max(1, Math.min(workers, subs));
    const sizes = Array.from(
      { length: count },
      (_, i) => Math.floor(subs / count) + (i < subs % count ? 1 : 0),
    );
    const processes = sizes.map((size) => new WorkerProcess(port, size));
    const pool = new WorkerPool(processes, sizes);
    try {
      await withDeadline(
        Promise.all(processes.map((p) => p.next())),
        60_000,
        `${subs} receivers to connect`,
      );
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** Process ids of the workers (for CPU figures). */
  get pids(): number[] {
    return this.#workers.map((w) => w.child.pid);
  }

  /** Sends `command` to the workers picked by `only` (default all) and collects one answer each. */
  async ask(
    command: WorkerCommand,
    timeoutMs: number,
    only?: readonly number[],
  ): Promise<WorkerEvent[]> {
    const picked = only === undefined
      ? this.#workers
      : only.map((i) => this.#workers[i]!);
    return await withDeadline(
      Promise.all(picked.map(async (w) => {
        await w.send(command);
        return await w.next();
      })),
      timeoutMs,
      `receiver workers to answer "${command.cmd}"`,
    );
  }

  /** Resolves once every receiver has seen the probe `what`. */
  awaitProbe(what: "ready" | "fenced", timeoutMs: number): Promise<unknown> {
    return this.ask({ cmd: "await", what, timeoutMs }, timeoutMs + 5_000);
  }

  /** Asks every worker to finish the phase; returns the summed figures. */
  async finish(
    idleMs: number,
    deadlineMs: number,
    only?: readonly number[],
  ): Promise<PhaseStats> {
    const answers = await this.ask(
      { cmd: "finish", idleMs, deadlineMs },
      deadlineMs + idleMs + 10_000,
      only,
    );
    return sumStats(answers.map((a) => a.stats as PhaseStats));
  }

  /** The current phase's figures so far, summed over every worker. */
  async stats(): Promise<PhaseStats> {
    const answers = await this.ask({ cmd: "stats" }, 10_000);
    return sumStats(answers.map((a) => a.stats as PhaseStats));
  }

  /** Closes every receiver and ends every worker process. */
  async close(): Promise<void> {
    await Promise.allSettled(
      this.#workers.map((w) =>
        withDeadline(
          w.send({ cmd: "close" }).then(() => w.next()),
          10_000,
          "a worker to close",
        )
      ),
    );
    await Promise.all(this.#workers.map((w) => w.end()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Adds up the figures of several receiver sets. */
export function sumStats(all: readonly PhaseStats[]): PhaseStats {
  const firsts = all.map((s) => s.firstMs).filter((ms) => ms > 0);
  return {
    subs: all.reduce((n, s) => n + s.subs, 0),
    deliveries: all.reduce((n, s) => n + s.deliveries, 0),
    ooo: all.reduce((n, s) => n + s.ooo, 0),
    complete: all.reduce((n, s) => n + s.complete, 0),
    disconnected: all.reduce((n, s) => n + s.disconnected, 0),
    unexpected: all.reduce((n, s) => n + s.unexpected, 0),
    firstMs: firsts.length === 0 ? 0 : Math.min(...firsts),
    lastMs: Math.max(0, ...all.map((s) => s.lastMs)),
  };
}
