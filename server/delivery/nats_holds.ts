import type { BusLog, ClusterHolds, HoldRequest, SyncOwner } from "./bus.ts";
import type { HoldOp } from "./hold_ops.ts";
import { HoldCache, nodeOf } from "./hold_cache.ts";
import { HoldWriter, type OpResult } from "./hold_writer.ts";
import type { NatsConnection } from "./_nats.ts";
import { keyOf } from "./nats_latches.ts";
import type { SyncStats } from "../metrics/stats.ts";
import { holdsReport } from "./hold_report.ts";
import { HoldUpkeep } from "./hold_upkeep.ts";
import { HoldWaiters, type OwnerState } from "./hold_waiters.ts";
import { closed, failed, refused } from "./hold_replies.ts";

/** How {@link NatsHolds.open} is set up. */
export interface NatsHoldsOptions {
  /** The event space: bucket `em_<serverName>_holds`, heartbeats on `em.<serverName>.nodes`. */
  readonly serverName: string;
  /** This node's id (its heartbeats carry it). */
  readonly nodeId: string;
  /** Copies JetStream keeps of the bucket. */
  readonly replicas: number;
  /** The nodes' heartbeat period; a node unheard for 3.5 of them is gone. */
  readonly heartbeatMs: number;
  /** True while the link to NATS is up. */
  readonly connected: () => boolean;
  /** Where failures nobody asked about are logged. */
  readonly log: BusLog;
  /**
   * Holds plus waiting requests of one connection, at most.
   * @default {10000}
   */
  readonly maxPerOwner?: number;
}

/**
 * Cluster-wide locks, semaphores, leases and barriers in a JetStream KV bucket (docs/CLUSTER.md):
 * one record per name, changed only by compare-and-set on its revision, so two nodes never both
 * grant; a watch of the bucket tells each node when its waiters were granted or released; every
 * node expires leases and releases the bound holds and waiters of nodes unheard for 3.5
 * heartbeats. A node cut off from NATS refuses requests and, after two heartbeats, closes the
 * connections of its holders: it can no longer vouch for their holds.
 */
export class NatsHolds implements ClusterHolds {
  #cache: HoldCache;
  #options: NatsHoldsOptions;
  /** This node incarnation: `<node id>/<random>`; a restarted node has a new one. */
  readonly self: string;
  #owners = new Map<SyncOwner, OwnerState>();
  #waiters: HoldWaiters;
  #writer: HoldWriter;
  #upkeep: HoldUpkeep;
  #nextOwner = 0;
  #nextWaiter = 0;

  private constructor(
    cache: HoldCache,
    nc: NatsConnection,
    options: NatsHoldsOptions,
  ) {
    this.#cache = cache;
    this.#options = options;
    this.self = `${options.nodeId}/${crypto.randomUUID().slice(0, 8)}`;
    this.#writer = new HoldWriter(nc, cache, options);
    this.#waiters = new HoldWaiters(cache, this.#owners);
    cache.onChange = (key) => this.#waiters.settle(key);
    this.#upkeep = new HoldUpkeep(
      {
        self: this.self,
        connected: options.connected,
        heartbeatMs: options.heartbeatMs,
        log: options.log,
        waitedKeys: () => this.#waiters.keys(),
        fence: () => this.#fence(),
      },
      cache,
      this.#writer,
    );
  }

  /** Opens (creates when missing) the bucket and starts watching it. */
  static async open(
    nc: NatsConnection,
    options: NatsHoldsOptions,
  ): Promise<NatsHolds> {
    const cache = await HoldCache.open(nc, {
      bucket: `em_${options.serverName}_holds`,
      replicas: options.replicas,
      log: options.log,
    });
    return new NatsHolds(cache, nc, options);
  }

  request(owner: SyncOwner, request: HoldRequest): void {
    if (!this.#options.connected() || this.#upkeep.fenced) {
      return owner.answer(closed(
        request.id,
        `Cannot ${request.kind}${
          "name" in request ? ` "${request.name}"` : ""
        }: not connected to the NATS cluster`,
      ));
    }
    const state = this.#stateOf(owner);
    switch (request.kind) {
      case "acquire":
        return this.#acquire(owner, state, request);
      case "release":
        return this.#release(owner, state, request);
      case "renew":
        return this.#renew(owner, request);
      case "barrier":
        return this.#arrive(owner, state, request);
      case "withdraw":
        return this.#withdraw(owner, state, request.id);
    }
  }

  drop(owner: SyncOwner): void {
    const state = this.#owners.get(owner);
    if (state === undefined) return;
    this.#owners.delete(owner);
    for (const waiting of state.waits.values()) this.#waiters.forget(waiting);
    for (const key of state.keys) this.#upkeep.cleanup(key, state.o);
  }

  report(): Omit<SyncStats, "latches"> {
    const peers = new Map<string, string>();
    for (const [owner, state] of this.#owners) {
      peers.set(`${this.self}#${state.o}`, owner.peer);
    }
    return holdsReport(
      this.#cache.entries(),
      (e) => peers.get(`${e.n}#${e.o}`) ?? `${nodeOf(e.n)}#${e.o}`,
    );
  }

  /** Stops the timer and the watch. */
  async close(): Promise<void> {
    this.#upkeep.close();
    this.#writer.close();
    await this.#cache.close();
  }

  #acquire(
    owner: SyncOwner,
    state: OwnerState,
    request: Extract<HoldRequest, { kind: "acquire" }>,
  ): void {
    const { id, name } = request;
    if (this.#overLimit(owner, state, id, name)) return;
    const key = keyOf(name, "s");
    state.keys.add(key);
    const w = `${this.self}.${++this.#nextWaiter}`;
    const token = crypto.randomUUID();
    const who = { n: this.self, o: state.o, w };
    const op: HoldOp = { op: "acquire", wish: request, who, token };
    this.#send(
      state,
      id,
      this.#run(key, op).then(
        ({ outcome, rev }) => {
          if (outcome.refused !== undefined) {
            return owner.answer(refused(id, outcome.refused));
          }
          if (this.#owners.get(owner) !== state) return; // gone meanwhile: its cleanup follows
          if (outcome.granted) {
            if (request.ttlMs === undefined) {
              state.holds.set(token, { key, rev });
            }
            return owner.answer({ kind: "granted", id, token });
          }
          this.#waiters.add({ owner, state, id, name, key, w, minRev: rev });
        },
        (error: Error) => owner.answer(failed(id, `acquire "${name}"`, error)),
      ),
    );
  }

  /**
   * Remembers an acquire or arrival until it is answered or waiting: a withdrawal that comes
   * meanwhile waits for it (answering "withdrawn" at once would leave its record in the store,
   * granted later to a request nobody waits for).
   */
  #send(state: OwnerState, id: string, handled: Promise<void>): void {
    state.sending.set(id, handled);
    void handled.finally(() => {
      if (state.sending.get(id) === handled) state.sending.delete(id);
    });
  }

  #release(
    owner: SyncOwner,
    state: OwnerState,
    { id, name, token }: Extract<HoldRequest, { kind: "release" }>,
  ): void {
    state.holds.delete(token);
    const by = { n: this.self, o: state.o };
    this.#answerOk(
      owner,
      id,
      `release "${name}"`,
      this.#run(keyOf(name, "s"), { op: "release", name, token, by }),
    );
  }

  #renew(
    owner: SyncOwner,
    { id, name, token, ttlMs }: Extract<HoldRequest, { kind: "renew" }>,
  ): void {
    this.#answerOk(
      owner,
      id,
      `renew "${name}"`,
      this.#run(keyOf(name, "s"), { op: "renew", name, token, ttlMs }),
    );
  }

  /** Answers `ok`, or the refusal or failure of `running`. */
  #answerOk(
    owner: SyncOwner,
    id: string,
    what: string,
    running: Promise<OpResult>,
  ): void {
    running.then(
      ({ outcome }) =>
        owner.answer(
          outcome.refused === undefined
            ? { kind: "ok", id }
            : refused(id, outcome.refused),
        ),
      (error: Error) => owner.answer(failed(id, what, error)),
    );
  }

  #arrive(
    owner: SyncOwner,
    state: OwnerState,
    { id, name, parties }: Extract<HoldRequest, { kind: "barrier" }>,
  ): void {
    if (this.#overLimit(owner, state, id, name)) return;
    const key = keyOf(name, "b");
    state.keys.add(key);
    const w = `${this.self}.${++this.#nextWaiter}`;
    const arrival = { n: this.self, o: state.o, w };
    this.#send(
      state,
      id,
      this.#run(key, { op: "arrive", name, parties, arrival }).then(
        ({ outcome, rev }) => {
          if (outcome.refused !== undefined) {
            return owner.answer(refused(id, outcome.refused));
          }
          if (outcome.complete === undefined) {
            if (this.#owners.get(owner) !== state) return;
            return this.#waiters.add({
              owner,
              state,
              id,
              name,
              key,
              w,
              minRev: rev,
            });
          }
          for (const { w: done } of outcome.complete) {
            const waiting = this.#waiters.get(done);
            if (waiting === undefined) continue;
            this.#waiters.forget(waiting);
            waiting.owner.answer({ kind: "ok", id: waiting.id });
          }
          owner.answer({ kind: "ok", id });
        },
        (error: Error) =>
          owner.answer(failed(id, `arrive at "${name}"`, error)),
      ),
    );
  }

  #withdraw(owner: SyncOwner, state: OwnerState, id: string): void {
    const waiting = state.waits.get(id);
    if (waiting === undefined) {
      const sending = state.sending.get(id);
      if (sending !== undefined) { // withdraw once it is answered or waiting
        return void sending.then(() => this.#withdraw(owner, state, id));
      }
      return owner.answer({ kind: "withdrawn", id });
    }
    const { key, w } = waiting;
    waiting.withdrawing = true;
    this.#run(key, { op: "withdraw", w }).then(({ outcome, rev }) => {
      if (this.#waiters.get(w) === waiting) {
        this.#waiters.forget(waiting);
        if (outcome.done) owner.answer({ kind: "ok", id }); // the round completed first
        if (!outcome.present && outcome.grant !== undefined) { // granted first: the client releases it
          state.holds.set(outcome.grant, { key, rev });
          owner.answer({ kind: "granted", id, token: outcome.grant });
        }
      }
      owner.answer({ kind: "withdrawn", id });
    }, (error: Error) => {
      waiting.withdrawing = false;
      owner.answer(failed(id, "withdraw", error));
    });
  }

  /** Applies `op` to `key` through the key's writer. */
  #run(key: string, op: HoldOp): Promise<OpResult> {
    return this.#writer.run(key, op);
  }

  /** Cut off too long: closes every connection that holds or waits through this node. */
  #fence(): void {
    const owners = [...this.#owners].filter(([, state]) =>
      state.holds.size + state.waits.size > 0
    );
    this.#options.log.warn(
      "Cut off from the NATS cluster: closing {count} connections whose holds it can no longer vouch for",
      { count: owners.length },
    );
    for (const [owner] of owners) {
      owner.revoke(
        "Lost the link to the NATS cluster: this node can no longer vouch for your holds",
      );
    }
  }

  #stateOf(owner: SyncOwner): OwnerState {
    let state = this.#owners.get(owner);
    if (state === undefined) {
      state = {
        o: ++this.#nextOwner,
        holds: new Map(),
        waits: new Map(),
        keys: new Set(),
        sending: new Map(),
      };
      this.#owners.set(owner, state);
    }
    return state;
  }

  #overLimit(
    owner: SyncOwner,
    state: OwnerState,
    id: string,
    name: string,
  ): boolean {
    const max = this.#options.maxPerOwner ?? 10_000;
    if (state.holds.size + state.waits.size < max) return false;
    owner.answer(refused(
      id,
      `Cannot acquire "${name}": this connection already has ${max} holds and waiting requests`,
    ));
    return true;
  }
}
