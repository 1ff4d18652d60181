import { EmError } from "../../protocol/mod.ts";
import type { BusLog } from "./bus.ts";
import { type HoldCache, isSemaphoreKey } from "./hold_cache.ts";
import type { BarrierRecord, Change, SemaphoreRecord } from "./hold_records.ts";
import {
  applyOp,
  type HoldOp,
  type OpOutcome,
  stepRecord,
} from "./hold_ops.ts";
import type { NatsConnection } from "./_nats.ts";
import { NodeTable } from "./node_table.ts";

type AnyRecord = SemaphoreRecord | BarrierRecord;

/** What an op did and the revision it wrote (0: nothing written, or the key deleted). */
export interface OpResult {
  readonly outcome: OpOutcome;
  readonly rev: number;
}

/** How a {@link HoldWriter} is set up. */
export interface HoldWriterOptions {
  readonly serverName: string;
  readonly nodeId: string;
  readonly heartbeatMs: number;
  readonly log: BusLog;
  /**
   * How long a node waits for the key's writer before writing itself.
   * @default {2000}
   */
  readonly forwardTimeoutMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Writes hold records. Every key has one writing node at a time, its "home": the live node with
 * the highest rendezvous hash of (node, key); other nodes send it their ops over NATS
 * (`em.<name>.holds.<node>`) and it applies them one after another with compare-and-set. The
 * compare-and-set alone is not enough on nats-server before 2.9.21, which can accept two
 * concurrent writes expecting the same revision of a replicated stream (nats-server issue 4320):
 * one writer per key keeps writes of a key sequential; the compare-and-set still guards the
 * moments when nodes disagree about who is alive.
 */
export class HoldWriter {
  #nc: NatsConnection;
  #cache: HoldCache;
  #options: HoldWriterOptions;
  #nodes: NodeTable;
  #chains = new Map<string, Promise<unknown>>();
  #subscriptions: { unsubscribe(): void }[] = [];

  constructor(
    nc: NatsConnection,
    cache: HoldCache,
    options: HoldWriterOptions,
  ) {
    this.#nc = nc;
    this.#cache = cache;
    this.#options = options;
    this.#nodes = new NodeTable(options.heartbeatMs * 3.5);
    this.#subscriptions.push(
      nc.subscribe(`em.${options.serverName}.nodes`, {
        callback: (_, msg) => {
          const text = msg.string();
          if (text[0] === "-") this.#nodes.forget(text.slice(1));
          else this.#nodes.seen(text.slice(1), Date.now());
        },
      }),
      nc.subscribe(`em.${options.serverName}.holds.${options.nodeId}`, {
        callback: (_, msg) =>
          this.#serve(msg.data, (reply) => msg.respond(reply)),
      }),
    );
  }

  /** The other nodes heard from lately. */
  live(nowMs: number): Set<string> {
    return this.#nodes.live(nowMs);
  }

  /** True when this node writes `key` (given the live nodes). */
  isHome(key: string, live: ReadonlySet<string>): boolean {
    return this.#home(key, live) === this.#options.nodeId;
  }

  /** Applies `op` to `key` on the key's home node: here, or sent there and answered. */
  async run(key: string, op: HoldOp): Promise<OpResult> {
    const home = this.#home(key, this.#nodes.live(Date.now()));
    if (home !== this.#options.nodeId) {
      const forwarded = await this.#forward(home, key, op);
      if (forwarded !== undefined) return forwarded;
    }
    const via = home === this.#options.nodeId ? "here" : "retried"; // the home may have written it
    const { change, rev } = await this.change(
      key,
      (record) => applyOp(isSemaphoreKey(key), op, record, Date.now(), via),
    );
    return { outcome: outcomeOf(change), rev };
  }

  /**
   * Applies `change` to the record of `key` with compare-and-set, again on the stored record when
   * another writer came first. Changes of one key by this node run one after another. Expired
   * leases are pruned and free queue heads served in the same write.
   */
  change<X>(
    key: string,
    change: (record: AnyRecord | undefined) => Change<AnyRecord> & X,
  ): Promise<{ change: Change<AnyRecord> & X; rev: number }> {
    const run = () => bounded(this.#casLoop(key, change), key);
    const chained = (this.#chains.get(key) ?? Promise.resolve()).then(run, run);
    const tail = chained.catch(() => {});
    this.#chains.set(key, tail);
    void tail.then(() => {
      if (this.#chains.get(key) === tail) this.#chains.delete(key);
    });
    return chained;
  }

  /** Stops serving other nodes' ops. */
  close(): void {
    for (const sub of this.#subscriptions) sub.unsubscribe();
  }

  async #casLoop<X>(
    key: string,
    change: (record: AnyRecord | undefined) => Change<AnyRecord> & X,
  ): Promise<{ change: Change<AnyRecord> & X; rev: number }> {
    const semaphore = isSemaphoreKey(key);
    for (let attempt = 0; attempt < 50; attempt++) {
      const cached = attempt === 0 ? this.#cache.get(key) : undefined;
      const current = cached ?? await this.#cache.fetch(key);
      const { result, next } = stepRecord(
        semaphore,
        change,
        current.value,
        Date.now(),
        newToken,
      );
      if (result.refused !== undefined) {
        if (cached !== undefined) continue; // a refusal must come from the stored record
        return { change: result, rev: 0 };
      }
      if (cached !== undefined && same(next, current.value)) continue; // sure it is a no-op?
      const rev = await this.#cache.write(key, next, current);
      if (rev !== undefined) return { change: result, rev };
    }
    throw new EmError(
      "closed",
      `Cannot change "${key}" in the cluster's store: over 50 concurrent writers`,
    );
  }

  /** The live node (this one included) with the highest hash of (node, key). */
  #home(key: string, live: ReadonlySet<string>): string {
    let best = this.#options.nodeId;
    let bestHash = hash(`${best}\n${key}`);
    for (const node of live) {
      const h = hash(`${node}\n${key}`);
      if (h > bestHash || (h === bestHash && node > best)) {
        best = node;
        bestHash = h;
      }
    }
    return best;
  }

  /** Sends `op` to `home`; undefined when it did not answer in time (it may be gone). */
  async #forward(
    home: string,
    key: string,
    op: HoldOp,
  ): Promise<OpResult | undefined> {
    let reply;
    try {
      reply = await this.#nc.request(
        `em.${this.#options.serverName}.holds.${home}`,
        encoder.encode(JSON.stringify([key, op])),
        { timeout: this.#options.forwardTimeoutMs ?? 2_000 },
      );
    } catch (error) {
      this.#options.log.warn(
        "Node {home} did not take a hold change of {key} ({error}); writing it here",
        { home, key, error: (error as Error).message },
      );
      return undefined;
    }
    const answer = JSON.parse(decoder.decode(reply.data)) as
      | { r: OpResult }
      | { e: string };
    if ("e" in answer) throw new EmError("closed", answer.e);
    return answer.r;
  }

  /** Applies an op another node sent and answers with what it did. */
  #serve(data: Uint8Array, respond: (reply: Uint8Array) => void): void {
    let key: string, op: HoldOp;
    try {
      [key, op] = JSON.parse(decoder.decode(data)) as [string, HoldOp];
    } catch {
      return this.#options.log.warn("Dropped a malformed hold change");
    }
    this.change( // served: the asking node writes it again if this answer is lost
      key,
      (record) =>
        applyOp(isSemaphoreKey(key), op, record, Date.now(), "served"),
    ).then(
      ({ change, rev }) => ({ r: { outcome: outcomeOf(change), rev } }),
      (error: Error) => ({ e: error.message }),
    ).then((answer) => respond(encoder.encode(JSON.stringify(answer))));
  }
}

/** The outcome without the record: what travels back to the asking node. */
function outcomeOf(change: Change<AnyRecord> & OpOutcome): OpOutcome {
  const { refused, granted, complete, present, grant, done } = change;
  return {
    ...(refused === undefined ? {} : { refused }),
    ...(granted === undefined ? {} : { granted }),
    ...(complete === undefined ? {} : { complete }),
    ...(present === undefined ? {} : { present }),
    ...(grant === undefined ? {} : { grant }),
    ...(done === undefined ? {} : { done }),
  };
}

/** How long one change of a key may take before the next change of that key goes ahead. */
const CHANGE_TIMEOUT_MS = 10_000;

/** `changing`, or an error once it took over {@link CHANGE_TIMEOUT_MS}: one stuck change never blocks a key. */
function bounded<T>(changing: Promise<T>, key: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new EmError(
            "closed",
            `Cannot change "${key}" in the cluster's store: no answer within ${CHANGE_TIMEOUT_MS} ms`,
          ),
        ),
      CHANGE_TIMEOUT_MS,
    );
  });
  return Promise.race([changing, late]).finally(() => clearTimeout(timer));
}

/** 32-bit FNV-1a: spreads keys over nodes; not for security. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function same(a: AnyRecord | undefined, b: AnyRecord | undefined): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function newToken(): string {
  return crypto.randomUUID();
}
