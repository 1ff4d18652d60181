/** Options of {@link followFile} and {@link readLineChunks}. */
export interface FollowOptions {
  /**
   * Start at the end of the file, skipping what it holds now (and any partial last line).
   * @default {false}
   */
  readonly fromEnd?: boolean;
  /**
   * Milliseconds between looks at a file that has stopped growing.
   * @default {200}
   */
  readonly pollMs?: number;
  /**
   * Bytes read at a time: the file is streamed through one buffer of this size.
   * @default {65536}
   */
  readonly bufferBytes?: number;
  /**
   * A line longer than this many characters is handed on in pieces rather than held.
   * @default {1048576}
   */
  readonly maxLineChars?: number;
  /** Aborting ends the iteration (without an error) at its next step. */
  readonly signal?: AbortSignal;
}

/**
 * Turns bytes into text made of complete lines: the unfinished last line is held until a later
 * chunk completes it (or `flush` gives it up).
 */
export class LineChunker {
  #decoder = new TextDecoder();
  #carry = "";
  readonly #maxLineChars: number;

  /**
   * Creates a chunker.
   * @param maxLineChars the longest line held; longer ones are handed on in pieces
   */
  constructor(maxLineChars = 1_048_576) {
    this.#maxLineChars = maxLineChars;
  }

  /**
   * Adds bytes; returns the complete lines now available (each ending in "\n"), or "".
   * @param bytes the next bytes, decoded as UTF-8 (a character may span chunks)
   */
  push(bytes: Uint8Array): string {
    const text = this.#carry + this.#decoder.decode(bytes, { stream: true });
    const end = text.lastIndexOf("\n") + 1;
    this.#carry = text.slice(end);
    if (this.#carry.length > this.#maxLineChars) {
      const piece = this.#carry;
      this.#carry = "";
      return text.slice(0, end) + piece + "\n";
    }
    return text.slice(0, end);
  }

  /** Gives up the held partial line (and resets the decoder); returns it with a "\n", or "". */
  flush(): string {
    const rest = this.#carry + this.#decoder.decode();
    this.#carry = "";
    return rest === "" ? "" : rest + "\n";
  }
}

/**
 * Reads a stream (standard input) as chunks of complete lines; the final unfinished line is
 * handed on at the end of the stream.
 * @param stream the bytes to read
 * @param options `maxLineChars` and `signal` apply
 * @returns chunks of text, each made of whole lines ending in "\n"
 */
export async function* readLineChunks(
  stream: ReadableStream<Uint8Array>,
  options: FollowOptions = {},
): AsyncGenerator<string> {
  const chunker = new LineChunker(options.maxLineChars);
  const reader = stream.getReader();
  const cancel = (): void => void reader.cancel().catch(() => {});
  options.signal?.addEventListener("abort", cancel, { once: true });
  try {
    while (!options.signal?.aborted) {
      const { value, done } = await reader.read();
      if (done) break;
      const text = chunker.push(value);
      if (text !== "") yield text;
    }
    if (options.signal?.aborted) return;
    const rest = chunker.flush();
    if (rest !== "") yield rest;
  } finally {
    options.signal?.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}

/** A followed log file: iterate once for its chunks; dispose (or abort) to stop. */
export interface LogFollower extends AsyncIterable<string>, AsyncDisposable {
  /** Closes the file; an iteration in progress ends. Idempotent. */
  close(): void;
}

/**
 * Opens a log file to follow it as it grows, like `tail -F`: what it holds now (unless
 * `fromEnd`), then each addition. A partial last line waits until completed. When the file shrinks
 * (truncation) it is read again from the top; when the path names a new file (rotation, detected
 * by inode) the old one is read to its end, then the new one from its start. Iteration ends only
 * when `signal` aborts or the follower is closed.
 * @param path the log file
 * @param options where to start, polling interval, buffer size and the abort signal
 * @returns the follower, whose iteration yields chunks of whole lines each ending in "\n"
 * @throws {Deno.errors.NotFound} when the file does not exist
 */
export async function followFile(
  path: string,
  options: FollowOptions = {},
): Promise<LogFollower> {
  const file = await Deno.open(path);
  try {
    const info = await file.stat();
    const skipPartial = options.fromEnd === true &&
      await skipToEnd(file, info.size);
    const start = options.fromEnd ? info.size : 0;
    return new FileFollower(path, file, info, start, skipPartial, options);
  } catch (error) {
    file.close();
    throw error;
  }
}

class FileFollower implements LogFollower {
  #path: string;
  #file: Deno.FsFile;
  #info: Deno.FileInfo;
  #position: number;
  #skipPartial: boolean; // --from-end started inside a line: drop that line's rest
  #options: FollowOptions;
  #closed = false;

  constructor(
    path: string,
    file: Deno.FsFile,
    info: Deno.FileInfo,
    position: number,
    skipPartial: boolean,
    options: FollowOptions,
  ) {
    this.#path = path;
    this.#file = file;
    this.#info = info;
    this.#position = position;
    this.#skipPartial = skipPartial;
    this.#options = options;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    const { pollMs = 200, signal } = this.#options;
    const buffer = new Uint8Array(this.#options.bufferBytes ?? 65_536);
    const chunker = new LineChunker(this.#options.maxLineChars);
    try {
      while (!signal?.aborted && !this.#closed) {
        const count = await this.#file.read(buffer);
        if (count !== null && count > 0) {
          this.#position += count;
          const text = this.#dropSkipped(
            chunker.push(buffer.subarray(0, count)),
          );
          if (text !== "") yield text;
          continue;
        }
        const change = await lookAgain(
          this.#path,
          this.#file,
          this.#info,
          this.#position,
        );
        if (change === "idle") await sleep(pollMs, signal);
        if (change === "idle" || change === "more") continue;
        const rest = this.#dropSkipped(chunker.flush()); // the old content ends: so does its line
        if (rest !== "") yield rest;
        await this.#reopen(change);
      }
    } finally {
      this.close();
    }
  }

  #dropSkipped(text: string): string {
    if (!this.#skipPartial || text === "") return text;
    this.#skipPartial = false;
    return text.slice(text.indexOf("\n") + 1);
  }

  async #reopen(change: "truncated" | "rotated"): Promise<void> {
    if (change === "truncated") {
      await this.#file.seek(0, Deno.SeekMode.Start);
    } else {
      this.#file.close();
      this.#file = await Deno.open(this.#path);
    }
    this.#info = await this.#file.stat();
    this.#position = 0;
  }
}

type Change = "idle" | "more" | "truncated" | "rotated";

async function lookAgain(
  path: string,
  file: Deno.FsFile,
  opened: Deno.FileInfo,
  position: number,
): Promise<Change> {
  let named: Deno.FileInfo;
  try {
    named = await Deno.stat(path);
  } catch {
    return "idle"; // moved away and not yet replaced: keep reading the old file
  }
  if (opened.ino !== null && named.ino !== opened.ino) {
    const current = await file.stat();
    return current.size > position ? "more" : "rotated"; // finish the old file first
  }
  return (await file.stat()).size < position ? "truncated" : "idle";
}

/** Seeks to the end; true when the file ends in a partial line (whose rest must be skipped). */
async function skipToEnd(file: Deno.FsFile, size: number): Promise<boolean> {
  if (size === 0) return false;
  await file.seek(size - 1, Deno.SeekMode.Start);
  const last = new Uint8Array(1);
  await file.read(last);
  return last[0] !== 10;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
