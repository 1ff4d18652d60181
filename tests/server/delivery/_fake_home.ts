/**
 * A stand-in cluster node for tests of how nodes send hold changes to a key's home
 * (server/delivery/hold_writer.ts): it says it is alive on `em.<name>.nodes`, so the other nodes
 * send it the changes of the keys it is the home of, and it writes them to the holds bucket through
 * a HoldWriter of its own — at once, or, for one change the test holds back, when the test says:
 * late (a slow home), or written and never answered (a home that died right after its write).
 */
import {
  connect,
  type NatsConnection,
} from "../../../server/delivery/_nats.ts";
import {
  HoldCache,
  isSemaphoreKey,
} from "../../../server/delivery/hold_cache.ts";
import { HoldWriter } from "../../../server/delivery/hold_writer.ts";
import { applyOp, type HoldOp } from "../../../server/delivery/hold_ops.ts";
import { keyOf } from "../../../server/delivery/nats_latches.ts";
import { within } from "../../_helpers/sync_cli.ts";

const ID = "fake";
const quiet = { info() {}, warn() {} };

/** A change the fake home holds back. */
export interface HeldChange {
  readonly op: HoldOp;
  /** Writes it and never answers. */
  write(): Promise<void>;
  /** Writes it and answers the node that sent it. */
  answer(): Promise<void>;
}

/** The fake node `fake` of event space `serverName`. */
export class FakeHome implements AsyncDisposable {
  #nc: NatsConnection;
  #cache: HoldCache;
  #writer: HoldWriter;
  #name: string;
  #heartbeat: ReturnType<typeof setInterval>;
  #held = new Map<string, (change: HeldChange) => void>();
  #subscription: { unsubscribe(): void };

  private constructor(nc: NatsConnection, cache: HoldCache, name: string) {
    this.#nc = nc;
    this.#cache = cache;
    this.#name = name;
    // its own writer listens on other subjects: the changes sent here are this class's to take
    this.#writer = new HoldWriter(nc, cache, {
      serverName: `${name}_fake`,
      nodeId: ID,
      heartbeatMs: 500,
      log: quiet,
    });
    this.#subscription = nc.subscribe(`em.${name}.holds.${ID}`, {
      callback: (_, msg) => {
        const [key, op] = msg.json<[string, HoldOp]>();
        const write = () => this.#write(key, op);
        const answer = async () => {
          const { change, rev } = await write();
          const { refused, granted, complete, present, grant, done } = change;
          const outcome = { refused, granted, complete, present, grant, done };
          msg.respond(JSON.stringify({ r: { outcome, rev } }));
        };
        const take = this.#held.get(key);
        this.#held.delete(key);
        if (take === undefined) return void answer();
        take({ op, write: async () => void await write(), answer });
      },
    });
    this.#heartbeat = setInterval(() => this.#say("+"), 100);
  }

  /** Joins event space `serverName` on the NATS servers `urls` (comma-separated). */
  static async open(urls: string, serverName: string): Promise<FakeHome> {
    const nc = await connect({ servers: urls.split(",") });
    const cache = await HoldCache.open(nc, {
      bucket: `em_${serverName}_holds`,
      replicas: 3,
      log: quiet,
    });
    return new FakeHome(nc, cache, serverName);
  }

  /** A lock (`s`) or barrier (`b`) name whose key this node is the home of, beside `others`. */
  nameFor(others: readonly string[], kind: "s" | "b"): string {
    for (let i = 0;; i++) {
      const name = `home${i}`;
      if (this.#writer.isHome(keyOf(name, kind), new Set(others))) return name;
    }
  }

  /** Resolves once node `node` has heard of this one (it answered a "?" sent after a heartbeat). */
  heardBy(node: string): Promise<void> {
    let heard!: () => void;
    const answered = new Promise<void>((resolve) => heard = resolve);
    const sub = this.#nc.subscribe(`em.${this.#name}.nodes`, {
      callback: (_, msg) => {
        if (msg.string() === `+${node}`) heard();
      },
    });
    this.#say("+");
    this.#say("?");
    return within(answered, 10_000, `node ${node} to hear ${ID}`)
      .finally(() => sub.unsubscribe());
  }

  /** Holds back the next change of `key`: resolves once it arrived. */
  holdNext(key: string): Promise<HeldChange> {
    return new Promise((resolve) => this.#held.set(key, resolve));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#say("-"); // the others forget it at once
    this.#subscription.unsubscribe();
    this.#writer.close();
    await this.#cache.close();
    await this.#nc.close();
  }

  #write(key: string, op: HoldOp) {
    return this.#writer.change(
      key,
      (record) =>
        applyOp(isSemaphoreKey(key), op, record, Date.now(), "served"),
    );
  }

  #say(mark: "+" | "?" | "-"): void {
    this.#nc.publish(`em.${this.#name}.nodes`, mark + ID);
  }
}
