import { assertName, type EmError } from "../protocol/line_codec.ts";
import { untilSettled, type WaitOptions } from "./_deadline.ts";
import { TriggerMemory } from "./trigger_memory.ts";
import { TriggerStream } from "./trigger_stream.ts";

/**
 * The 1.1 side of a receiving client: EM's `wait` and `next` against the memory of arrived
 * triggers, and streams of every trigger of a name. Knows nothing of sockets: the client pushes
 * each arriving name and fails it once when the connection ends.
 */
export class TriggerWaits {
  /** True when connected with `receive: true`. */
  readonly receiving: boolean;
  #memory: TriggerMemory;
  #streams = new Set<TriggerStream>();
  #failures = new Set<(error: Error) => void>();
  #error: EmError | undefined;

  /**
   * @param receiving whether the connection receives triggers
   * @param maxRemembered triggers remembered before the oldest are dropped
   */
  constructor(receiving: boolean, maxRemembered: number) {
    this.receiving = receiving;
    this.#memory = new TriggerMemory(maxRemembered);
  }

  /** `wait(name, timeoutMs, options)`: consumes up to the first `name`, discarding the rest. */
  wait(
    name: string,
    timeoutMs: number,
    options: WaitOptions,
  ): Promise<boolean> {
    return this.#request(name, true, { ...options, timeoutMs });
  }

  /** `next(name, options)`: takes the first remembered `name` only. */
  next(name: string, options: WaitOptions): Promise<boolean> {
    return this.#request(name, false, options);
  }

  /** `triggers(name, options)`: every trigger of `name` from now on. */
  triggers(
    name: string,
    options: { signal?: AbortSignal },
  ): AsyncIterable<string> {
    this.#assertReceiving(name);
    const stream = new TriggerStream(
      name,
      options.signal,
      () => this.#streams.delete(stream),
    );
    if (this.#error !== undefined) stream.fail(this.#error);
    else if (!options.signal?.aborted) this.#streams.add(stream);
    return stream;
  }

  /** Asks the memory for any of `names`, consuming as `wait` does (for sync's `waitAny`). */
  requestAny(
    names: readonly string[],
    resolve: (name: string) => void,
  ): string | (() => void) {
    return this.#memory.requestAny(names, true, resolve);
  }

  /** A trigger (or a data event, a trigger with data) arrived. */
  push(name: string): void {
    if (this.receiving) this.#memory.push(name);
    for (const stream of this.#streams) stream.push(name);
  }

  /** The connection ended: every wait and stream fails with `error`. */
  fail(error: EmError): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    for (const fail of [...this.#failures]) fail(error);
    this.#failures.clear();
    for (const stream of this.#streams) stream.fail(error);
    this.#streams.clear();
  }

  #request(
    name: string,
    discards: boolean,
    options: WaitOptions,
  ): Promise<boolean> {
    this.#assertReceiving(name);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return untilSettled((settle, fail) => {
      const withdraw = this.#memory.request(name, discards, settle);
      if (withdraw === true) {
        settle();
        return () => {};
      }
      this.#failures.add(fail);
      return () => {
        withdraw();
        this.#failures.delete(fail);
      };
    }, options);
  }

  #assertReceiving(name: string): void {
    assertName(name);
    if (!this.receiving) {
      throw new TypeError(
        `Cannot wait for "${name}": connect with { receive: true }`,
      );
    }
  }
}
