/**
 * `--ready-file PATH`, shared by the tools that wait on the server (emwait, emlock, emsem,
 * embarrier): PATH gets the tool's process ID once the server has confirmed (queued) the wait, so
 * a script can act on it with no sleep. PATH may be a FIFO the script reads.
 */

/** The --ready-file option, spread into a tool's options. */
export const READY_FILE_OPTION = {
  "ready-file": { type: "string" },
} as const;

/** The ready file of one run: written at most once; a FIFO is closed empty if never written. */
export class ReadyFile {
  readonly path: string | undefined;
  #written = false;

  constructor(path: string | undefined) {
    this.path = path;
  }

  /**
   * Writes the process ID (one line) to the path, once.
   * @throws {TypeError} when it cannot be written
   */
  async write(): Promise<void> {
    if (this.path === undefined || this.#written) return;
    this.#written = true;
    try {
      await Deno.writeTextFile(this.path, `${Deno.pid}\n`);
    } catch (error) {
      throw new TypeError(
        `Cannot write ready file "${this.path}": ${(error as Error).message}`,
      );
    }
  }

  /**
   * Writes the file once `client` has processed `request` (a lock, semaphore or barrier request
   * just sent): the server handles a connection's messages in order, so when a ping sent after it
   * is answered, the request is queued or granted. Writes too if the request succeeds first.
   */
  async writeOnceProcessed(
    client: { flush(): Promise<void> },
    request: Promise<unknown>,
  ): Promise<void> {
    if (this.path === undefined) return;
    const granted = request.then(() => true, () => false);
    const processed = client.flush().then(() => true, () => false);
    if (await Promise.race([processed, granted])) await this.write();
  }

  /** When never written and the path is a FIFO: opens and closes it, so its reader sees an end. */
  async end(): Promise<void> {
    if (this.path === undefined || this.#written) return;
    try {
      if (!(await Deno.stat(this.path)).isFifo) return;
      (await Deno.open(this.path, { write: true })).close();
    } catch { /* not there, or not ours to open: nothing is waiting on it */ }
  }
}
