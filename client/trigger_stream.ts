/** An async iterable of one name's triggers, buffering those not yet pulled. */
export class TriggerStream
  implements AsyncIterable<string>, AsyncIterator<string> {
  #name: string;
  #buffered = 0;
  #waiting: ((result: IteratorResult<string>) => void) | undefined;
  #failWaiting: ((error: unknown) => void) | undefined;
  #error: unknown;
  #done = false;
  #signal: AbortSignal | undefined;
  #onEnd: () => void;
  #onAbort = (): void => this.fail(this.#signal!.reason);

  constructor(
    name: string,
    signal: AbortSignal | undefined,
    onEnd: () => void,
  ) {
    this.#name = name;
    this.#signal = signal;
    this.#onEnd = onEnd;
    if (signal?.aborted) { // ended before it began: nothing to withdraw, onEnd not called
      this.#error = signal.reason;
      this.#done = true;
    } else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Records a trigger; ignores other names. */
  push(name: string): void {
    if (name !== this.#name || this.#done) return;
    if (this.#waiting === undefined) {
      this.#buffered++;
      return;
    }
    const resolve = this.#waiting;
    this.#waiting = this.#failWaiting = undefined;
    resolve({ value: name, done: false });
  }

  /** Ends the stream with an error: buffered triggers are still delivered first. */
  fail(error: unknown): void {
    if (this.#done) return;
    this.#error = error;
    this.#end();
    const reject = this.#failWaiting;
    this.#waiting = this.#failWaiting = undefined;
    reject?.(error);
  }

  next(): Promise<IteratorResult<string>> {
    if (this.#buffered > 0) {
      this.#buffered--;
      return Promise.resolve({ value: this.#name, done: false });
    }
    if (this.#done) {
      return this.#error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.#error);
    }
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<string>> {
    this.#end();
    this.#buffered = 0;
    this.#waiting?.({ value: undefined, done: true });
    this.#waiting = this.#failWaiting = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return this;
  }

  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#onEnd();
  }
}
