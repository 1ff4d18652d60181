import type { WaitAnyOptions } from "./sync.ts";
import { startTimer } from "./_deadline.ts";

/** What a wait needs from the sync channel. */
export interface AnyWaitHost {
  /** Asks the trigger memory for any of `names`. */
  requestAny(
    names: readonly string[],
    resolve: (name: string) => void,
  ): string | (() => void);
  /** Registers a listener for the connection's end; returns its removal. */
  onFailure(listener: (error: Error) => void): () => void;
  /** Asks the server whether a name is latched, confirming the subscription; returns a cancel. */
  confirmWait(
    names: readonly string[],
    onAnswer: (latched: string | undefined) => void,
    onError: (error: Error) => void,
  ): () => void;
}

/** One `waitAny`: the memory, the server's confirmation, the timer and the signal. */
export class AnyWait {
  #done = false;
  #ready = false;
  #answered = false; // the server said whether a name is latched (or the round trip came back)
  #timedOut = false;
  #cleanups: (() => void)[] = [];

  constructor(
    readonly channel: AnyWaitHost,
    readonly names: readonly string[],
    readonly timeoutMs: number,
    readonly options: WaitAnyOptions,
    readonly resolve: (name: string | null) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  start(): void {
    const taken = this.channel.requestAny(
      this.names,
      (name) => this.#fired(name),
    );
    if (typeof taken === "string") return this.#fired(taken);
    this.#cleanups.push(taken);
    this.#cleanups.push(
      this.channel.onFailure((error) => this.#end(() => this.reject(error))),
    );
    if (this.#done) return;
    const { signal } = this.options;
    const onAbort = (): void => this.#end(() => this.reject(signal!.reason));
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#cleanups.push(() => signal?.removeEventListener("abort", onAbort));
    if (this.timeoutMs >= 0) {
      this.#cleanups.push(startTimer(this.timeoutMs, () => {
        this.#timedOut = true; // a timeout never ends the wait before the server's answer
        if (this.#answered) this.#end(() => this.resolve(null));
      }));
    }
    this.#cleanups.push(this.channel.confirmWait(
      this.names,
      (latched) => this.#answer(latched),
      (error) => this.#end(() => this.reject(error)),
    ));
  }

  #answer(latched: string | undefined): void {
    this.#answered = true;
    if (latched !== undefined) return this.#fired(latched);
    this.#callReady();
    if (this.#timedOut) this.#end(() => this.resolve(null));
  }

  #fired(name: string): void {
    if (this.#done) return;
    this.#callReady();
    this.#end(() => this.resolve(name));
  }

  #callReady(): void {
    if (this.#ready || this.#done) return;
    this.#ready = true;
    try {
      this.options.onReady?.();
    } catch (error) {
      this.#end(() => this.reject(error));
    }
  }

  #end(outcome: () => void): void {
    if (this.#done) return;
    this.#done = true;
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    outcome();
  }
}
