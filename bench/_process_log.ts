/**
 * What a child process writes to stdout and stderr, kept as text as it comes, and a bounded wait
 * for a line of it: how the test and bench helpers learn that a server they started has bound its
 * port, and which (nats-server, Prometheus, redis-server, emd_ref), instead of picking a port,
 * releasing it and hoping the server gets it.
 * @module
 */

/** The output of one child process (spawned with stdout and stderr piped). */
export class ProcessLog {
  #text = "";
  #ended = false;
  #listeners = new Set<() => void>();
  /** Resolves once both streams have ended (the process has closed them, usually by exiting). */
  readonly ended: Promise<void>;

  constructor(child: Deno.ChildProcess) {
    this.ended = Promise.all(
      [child.stdout, child.stderr].map(async (stream) => {
        const decoder = new TextDecoder();
        for await (const chunk of stream) {
          this.#text += decoder.decode(chunk, { stream: true });
          this.#changed();
        }
      }),
    ).then(() => {
      this.#ended = true;
      this.#changed();
    });
  }

  /** Everything written so far. */
  get text(): string {
    return this.#text;
  }

  /**
   * Resolves with the first match of `pattern` once the process has written it.
   * @throws {Error} naming `what`, with the output, when the output ends without it or
   * `timeoutMs` passes first
   */
  match(
    pattern: RegExp,
    what: string,
    timeoutMs: number,
  ): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      const check = () => {
        const found = pattern.exec(this.#text);
        if (found !== null) {
          done();
          resolve(found);
        } else if (this.#ended) {
          done();
          reject(new Error(`${what}: ended without saying so: ${this.#text}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: not within ${timeoutMs} ms: ${this.#text}`));
      }, timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

/** Spawns `program` with `args`, no input, its output read into a {@link ProcessLog}. */
export function spawnLogged(
  program: string,
  args: string[],
): { child: Deno.ChildProcess; log: ProcessLog } {
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return { child, log: new ProcessLog(child) };
}
