// The subscriptions of a FailoverClient (failover_client.ts), each following it from node to node.
import { EmError } from "../protocol/line_codec.ts";
import type { EmClient } from "./em_client.ts";
import type { DataEvent, Subscription } from "./event_stream.ts";

/** A subscription that follows its client from node to node. */
export class FailoverStream implements Subscription, AsyncIterator<DataEvent> {
  readonly pattern: string;
  ready: Promise<void>;
  #open: (client: EmClient) => Subscription;
  #inner: Subscription;
  #iterator: AsyncIterator<DataEvent>;
  #droppedBefore = 0;
  #ended = false;
  #error: unknown;
  #rebound: PromiseWithResolvers<void> = Promise.withResolvers();
  #onEnd: () => void;

  constructor(
    pattern: string,
    open: (client: EmClient) => Subscription,
    client: EmClient,
    onEnd: () => void,
  ) {
    this.pattern = pattern;
    this.#open = open;
    this.#onEnd = onEnd;
    this.#inner = open(client);
    this.#iterator = this.#inner[Symbol.asyncIterator]();
    this.ready = this.#inner.ready;
  }

  get dropped(): number {
    return this.#droppedBefore + this.#inner.dropped;
  }

  /** Subscribes again on the client of the node failed over to. */
  rebind(client: EmClient): void {
    if (this.#ended) return;
    this.#droppedBefore += this.#inner.dropped;
    this.#inner = this.#open(client);
    this.#iterator = this.#inner[Symbol.asyncIterator]();
    this.ready = this.#inner.ready;
    this.#rebound.resolve();
    this.#rebound = Promise.withResolvers();
  }

  fail(error: unknown): void {
    this.#error = error;
    this.#ended = true;
    this.#rebound.resolve();
    this.#onEnd();
  }

  end(): void {
    this.#ended = true;
    this.#rebound.resolve();
    this.#onEnd();
  }

  async next(): Promise<IteratorResult<DataEvent>> {
    for (;;) {
      const iterator = this.#iterator;
      try {
        const result = await iterator.next();
        if (!result.done || this.#ended) return result;
        if (iterator === this.#iterator) return result; // unsubscribed
      } catch (error) {
        if (!(error instanceof EmError) || error.code !== "closed") throw error;
        if (iterator === this.#iterator) await this.#rebound.promise;
        if (this.#error !== undefined) throw this.#error;
        if (this.#ended) return { value: undefined, done: true };
      }
    }
  }

  async return(): Promise<IteratorResult<DataEvent>> {
    await this.unsubscribe().catch(() => {});
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterator<DataEvent> {
    return this;
  }

  async unsubscribe(): Promise<void> {
    this.end();
    await this.#inner.unsubscribe();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unsubscribe().catch(() => {});
  }
}
