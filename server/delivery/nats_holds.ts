import { EmError, type SyncReply } from "../../protocol/mod.ts";
import type { BusLog, ClusterHolds, HoldRequest, SyncOwner } from "./bus.ts";
import {
  type BarrierRecord,
  dropIn,
  type HoldOp,
  leaveIn,
  needsWork,
  type SemaphoreRecord,
} from "./hold_records.ts";
import { HoldCache, isSemaphoreKey, nodeOf } from "./hold_cache.ts";
import { HoldWriter, type OpResult } from "./hold_writer.ts";
import type { NatsConnection } from "./_nats.ts";
import { keyOf, nameOf } from "./nats_latches.ts";
import type { SyncStats } from "../metrics/stats.ts";

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

/** One owner's requests as this node tracks them. */
interface OwnerState {
  readonly o: number;
  /** Tokens of its bound holds → key and the revision that granted them. */
  readonly holds: Map<string, { key: string; rev: number }>;
  /** Its waiting acquires and barrier arrivals by request id. */
  readonly waits: Map<string, Waiting>;
  /** Keys it ever queued or held in (cleaned when it goes). */
  readonly keys: Set<string>;
  /** Acquires and arrivals by request id, from sending them to the store until answered or waiting. */
  readonly sending: Map<string, Promise<void>>;
}

/** A request waiting for a grant (acquire) or a round to complete (barrier). */
interface Waiting {
  readonly owner: SyncOwner;
  readonly state: OwnerState;
  readonly id: string;
  readonly name: string;
  readonly key: string;
  readonly w: string;
  /** Records older than the one that queued it say nothing about it. */
  readonly minRev: number;
  /** Its owner withdrew it: leaving the record is no news for the owner. */
  withdrawing?: boolean;
}

type AnyRecord = SemaphoreRecord | BarrierRecord;

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
  #waiting = new Map<string, Waiting>(); // by waiter id
  #byKey = new Map<string, Set<Waiting>>();
  #cleanups = new Map<string, Set<number>>(); // key → connections whose records still need removing
  #sweeping = new Set<string>();
  #writer: HoldWriter;
  #nextOwner = 0;
  #nextWaiter = 0;
  #connectedSinceMs: number | undefined;
  #downSinceMs: number | undefined;
  #fenced = false;
  #lastPollMs = 0;
  #tick: ReturnType<typeof setInterval>;

  private constructor(
    cache: HoldCache,
    nc: NatsConnection,
    options: NatsHoldsOptions,
  ) {
    this.#cache = cache;
    this.#options = options;
    this.self = `${options.nodeId}/${crypto.randomUUID().slice(0, 8)}`;
    this.#writer = new HoldWriter(nc, cache, options);
    this.#connectedSinceMs = Date.now();
    cache.onChange = (key) => this.#settle(key);
    this.#tick = setInterval(
      () => this.#onTick(),
      Math.min(250, options.heartbeatMs / 4),
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
    if (!this.#options.connected() || this.#fenced) {
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
    for (const waiting of state.waits.values()) this.#forget(waiting);
    for (const key of state.keys) this.#cleanup(key, state.o);
  }

  report(): Omit<SyncStats, "latches"> {
    const peers = new Map<string, string>();
    for (const [owner, state] of this.#owners) {
      peers.set(`${this.self}#${state.o}`, owner.peer);
    }
    const who = (e: { n: string; o?: number }) =>
      peers.get(`${e.n}#${e.o}`) ?? `${nodeOf(e.n)}#${e.o}`;
    const semaphores: SyncStats["semaphores"][number][] = [];
    const barriers: SyncStats["barriers"][number][] = [];
    let leases = 0;
    for (const [key, { value }] of this.#cache.entries()) {
      if (value === undefined) continue;
      const name = nameOf(key);
      if (!isSemaphoreKey(key)) {
        const { p, a } = value as BarrierRecord;
        barriers.push({ name, parties: p, waiting: a.map(who) });
        continue;
      }
      const { p, h, q } = value as SemaphoreRecord;
      leases += h.filter((hold) => hold.e !== undefined).length;
      semaphores.push({
        name,
        permits: p,
        held: h.reduce((sum, hold) => sum + hold.c, 0),
        holders: h.map((hold) => ({
          holder: hold.e === undefined ? who(hold) : "lease",
          count: hold.c,
          lease: hold.e !== undefined,
        })),
        queue: q.map((waiter) => ({ peer: who(waiter), count: waiter.c })),
      });
    }
    const byName = (x: { name: string }, y: { name: string }) =>
      x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
    return {
      semaphores: semaphores.sort(byName),
      leases,
      barriers: barriers.sort(byName),
    };
  }

  /** Stops the timer and the watch. */
  async close(): Promise<void> {
    clearInterval(this.#tick);
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
          this.#wait({ owner, state, id, name, key, w, minRev: rev });
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
            return this.#wait({ owner, state, id, name, key, w, minRev: rev });
          }
          for (const { w: done } of outcome.complete) {
            const waiting = this.#waiting.get(done);
            if (waiting === undefined) continue;
            this.#forget(waiting);
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
      if (this.#waiting.get(w) === waiting) {
        this.#forget(waiting);
        if (!outcome.present && !isSemaphoreKey(key)) {
          owner.answer({ kind: "ok", id }); // the round completed first
        }
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

  /** Registers a waiter and looks at the newest record at once (the watch may be ahead). */
  #wait(waiting: Waiting): void {
    waiting.state.waits.set(waiting.id, waiting);
    this.#waiting.set(waiting.w, waiting);
    let set = this.#byKey.get(waiting.key);
    if (set === undefined) this.#byKey.set(waiting.key, set = new Set());
    set.add(waiting);
    this.#settle(waiting.key);
  }

  #forget(waiting: Waiting): void {
    waiting.state.waits.delete(waiting.id);
    this.#waiting.delete(waiting.w);
    const set = this.#byKey.get(waiting.key);
    set?.delete(waiting);
    if (set?.size === 0) this.#byKey.delete(waiting.key);
  }

  /** A record changed: answers this node's waiters it decided, revokes holds it no longer has. */
  #settle(key: string): void {
    const entry = this.#cache.get(key);
    if (entry === undefined) return;
    const semaphore = isSemaphoreKey(key);
    for (const waiting of this.#byKey.get(key) ?? []) {
      if (entry.rev < waiting.minRev) continue;
      const { w, owner, id, name } = waiting;
      if (!semaphore) {
        const record = entry.value as BarrierRecord | undefined;
        if (record?.a.some((a) => a.w === w)) continue;
        this.#forget(waiting);
        if (!waiting.withdrawing) owner.answer({ kind: "ok", id }); // the round completed
        continue;
      }
      const record = entry.value as SemaphoreRecord | undefined;
      if (record?.q.some((q) => q.w === w)) continue;
      this.#forget(waiting);
      const hold = record?.h.find((h) => h.w === w);
      if (hold === undefined && waiting.withdrawing) continue;
      if (hold === undefined) {
        owner.answer(closed(
          id,
          `Cannot acquire "${name}": the cluster dropped the request (this node was taken for gone)`,
        ));
        continue;
      }
      if (hold.o !== undefined) {
        waiting.state.holds.set(hold.t, { key, rev: entry.rev });
      }
      owner.answer({ kind: "granted", id, token: hold.t });
    }
    if (semaphore) this.#checkHolds(key, entry);
  }

  /** A bound hold missing from a newer record was released by the cluster: tell its owner. */
  #checkHolds(
    key: string,
    entry: { rev: number; value: AnyRecord | undefined },
  ): void {
    const record = entry.value as SemaphoreRecord | undefined;
    for (const [owner, state] of this.#owners) {
      for (const [token, hold] of state.holds) {
        if (hold.key !== key || entry.rev <= hold.rev) continue;
        if (record?.h.some((h) => h.t === token)) continue;
        state.holds.delete(token);
        owner.revoke(
          `Lost a hold: the cluster released it (this node was taken for gone)`,
        );
      }
    }
  }

  /** Applies `op` to `key` through the key's writer. */
  #run(key: string, op: HoldOp): Promise<OpResult> {
    return this.#writer.run(key, op);
  }

  /** Removes the records of connection `o` of this node from `key`, now or once reconnected. */
  #cleanup(key: string, o: number): void {
    this.#run(key, { op: "leave", by: { n: this.self, o } }).catch(() => {
      let set = this.#cleanups.get(key);
      if (set === undefined) this.#cleanups.set(key, set = new Set());
      set.add(o);
    });
  }

  #onTick(): void {
    const now = Date.now();
    if (!this.#options.connected()) {
      this.#connectedSinceMs = undefined;
      this.#downSinceMs ??= now;
      if (
        !this.#fenced &&
        now - this.#downSinceMs >= 2 * this.#options.heartbeatMs
      ) {
        this.#fence();
      }
      return;
    }
    if (this.#connectedSinceMs === undefined) this.#reconnected(now);
    this.#cache.ensureWatch();
    const cleanups = [...this.#cleanups];
    this.#cleanups.clear();
    for (const [key, set] of cleanups) {
      for (const o of set) this.#cleanup(key, o);
    }
    this.#sweep(now);
    if (now - this.#lastPollMs >= this.#options.heartbeatMs) {
      this.#lastPollMs = now;
      this.#poll();
    }
  }

  /**
   * Reads the records this node's waiters wait on, once per heartbeat: a grant is found even if
   * the watch stalled (it is the fast path, not the only one).
   */
  #poll(): void {
    for (const key of this.#byKey.keys()) {
      this.#cache.fetch(key).catch(() => {}); // a newer record settles its waiters
    }
  }

  /** Cut off too long: closes every connection that holds or waits through this node. */
  #fence(): void {
    this.#fenced = true;
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

  #reconnected(now: number): void {
    this.#connectedSinceMs = now;
    this.#downSinceMs = undefined;
    this.#fenced = false;
    this.#cache.restartWatch(); // the watch may have missed changes while the link was down
  }

  /** Expires leases, serves free queue heads, removes the records of gone nodes. */
  #sweep(now: number): void {
    const settled = now - this.#connectedSinceMs! >=
      3.5 * this.#options.heartbeatMs; // heard from every live node by now
    const live = this.#writer.live(now);
    const myId = nodeOf(this.self);
    const gone = (e: { n: string }) =>
      settled && e.n !== this.self && !live.has(nodeOf(e.n));
    const earlier = (e: { n: string }) =>
      e.n !== this.self && nodeOf(e.n) === myId;
    for (const [key, entry] of this.#cache.entries()) {
      const record = entry.value;
      if (record === undefined || this.#sweeping.has(key)) continue;
      const entries: readonly { n: string }[] = isSemaphoreKey(key)
        ? [...(record as SemaphoreRecord).h, ...(record as SemaphoreRecord).q]
        : (record as BarrierRecord).a;
      const old = entries.filter(earlier).map((e) => e.n);
      if (old.length > 0) { // this node restarted: its earlier self is gone
        this.#sweepKey(
          key,
          this.#run(key, { op: "forget", incarnations: [...new Set(old)] }),
        );
        continue;
      }
      if (!this.#writer.isHome(key, live)) continue; // its writer sweeps it
      if (
        !entries.some(gone) &&
        !(isSemaphoreKey(key) && needsWork(record as SemaphoreRecord, now))
      ) continue;
      this.#sweepKey(
        key,
        this.#writer.change(
          key,
          (r) =>
            isSemaphoreKey(key)
              ? dropIn(r as SemaphoreRecord, gone, Date.now())
              : leaveIn(r as BarrierRecord, gone),
        ),
      );
    }
  }

  /** One sweep of `key` at a time; a failure is logged (the next tick tries again). */
  #sweepKey(key: string, sweeping: Promise<unknown>): void {
    this.#sweeping.add(key);
    sweeping.catch((error: Error) =>
      this.#options.log.warn(
        "Cannot release holds of gone nodes in {key}: {error}",
        { key, error: error.message },
      )
    ).finally(() => this.#sweeping.delete(key));
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

function refused(id: string, text: string): SyncReply {
  return { kind: "error", id, code: "refused", text };
}

function closed(id: string, text: string): SyncReply {
  return { kind: "error", id, code: "closed", text };
}

function failed(id: string, what: string, error: Error): SyncReply {
  const text = error instanceof EmError
    ? error.message
    : `Cannot ${what} in the cluster's store: ${error.message}`;
  return closed(id, text);
}
