import {
  EmError,
  encodeSyncReply,
  type Message,
  parseSyncRequest,
  SYNC_COMMANDS,
  SYNC_HELLO_OPTION,
  SYNC_VERSION,
  type SyncReply,
  type SyncRequest,
} from "../../protocol/mod.ts";
import type { CommandHandler } from "../feature.ts";
import type { Feature, FeatureHost } from "../feature.ts";
import type { Session } from "../session.ts";
import { BarrierTable } from "./barriers.ts";
import { type Clock, systemClock } from "./clock.ts";
import { SemaphoreTable } from "./semaphores.ts";
import { memoryStore, type SyncStore } from "./store.ts";
import { syncReport } from "./sync_report.ts";
import type {
  ClusterLatches,
  HoldRequest,
  SyncOwner,
} from "../delivery/bus.ts";

/** Where the sync feature logs. */
export interface SyncLog {
  /** A fault of a peer or of the store. */
  warn(message: string, properties?: Record<string, unknown>): void;
}

/** Options of {@link syncFeature}, for tests. */
export interface SyncFeatureOptions {
  /**
   * The clock leases expire by.
   * @default {systemClock}
   */
  readonly clock?: Clock;
}

/** Request letters, client → server. */
const REQUESTS = [
  SYNC_COMMANDS.LATCH,
  SYNC_COMMANDS.RESET,
  SYNC_COMMANDS.WAIT,
  SYNC_COMMANDS.ACQUIRE,
  SYNC_COMMANDS.RELEASE,
  SYNC_COMMANDS.RENEW,
  SYNC_COMMANDS.BARRIER,
  SYNC_COMMANDS.WITHDRAW,
];

const encoder = new TextEncoder();

/**
 * The 1.2 sync capability: latched events, mutexes and semaphores (connection-bound holds and
 * leases), barriers; announced by the hello option `l1`. See docs/PROTOCOL.md and docs/SYNC.md.
 */
export function syncFeature(
  host: FeatureHost,
  log: SyncLog,
  options: SyncFeatureOptions = {},
): Feature {
  const state = new SyncState(host, log, options.clock ?? systemClock);
  let ready = Promise.resolve();
  try {
    state.load();
  } catch (error) {
    ready = Promise.reject(error);
  }
  const handler: CommandHandler = (session, message) =>
    state.handle(session, message);
  return {
    commands: new Map(REQUESTS.map((letter) => [letter, handler])),
    ready,
    helloOptions: () => [{ letter: SYNC_HELLO_OPTION, params: [SYNC_VERSION] }],
    onClose: (session) => state.drop(session),
    report: () => {
      const cluster = host.bus?.holds?.report(); // a clustered node: the cluster's holds
      return {
        sync: cluster === undefined
          ? syncReport(state.latches, state.semaphores, state.barriers)
          : { latches: [], ...cluster },
      };
    },
    stop: () => state.stop(),
  };
}

type Handlers = {
  [K in SyncRequest["kind"]]: (
    session: Session,
    request: Extract<SyncRequest, { kind: K }>,
  ) => SyncReply | undefined;
};

class SyncState {
  #host: FeatureHost;
  #log: SyncLog;
  #store: SyncStore;
  #latches = new Set<string>();
  #semaphores: SemaphoreTable<Session>;
  #barriers: BarrierTable<Session>;
  /** Sessions as the cluster's holds see them; undefined on a single emd. */
  #clusterOwners: Map<Session, SyncOwner> | undefined;

  /** Latched events, for reports. */
  get latches(): ReadonlySet<string> {
    return this.#latches;
  }

  /** Semaphores and locks, for reports. */
  get semaphores(): SemaphoreTable<Session> {
    return this.#semaphores;
  }

  /** Barriers, for reports. */
  get barriers(): BarrierTable<Session> {
    return this.#barriers;
  }

  constructor(host: FeatureHost, log: SyncLog, clock: Clock) {
    this.#host = host;
    this.#log = log;
    this.#store = host.options.syncStore ?? memoryStore();
    const { maxSyncPerConnection, maxLeases } = host.options;
    this.#semaphores = new SemaphoreTable(this.#store, {
      clock,
      events: {
        alive: (session) => !session.connection.isClosed,
        granted: (session, id, token) =>
          answer(session, { kind: "granted", id, token }),
        failed: (session, id, error) => this.#answerError(session, id, error),
        warn: (text) => log.warn("{text}", { text }),
      },
      ...(maxSyncPerConnection === undefined
        ? {}
        : { maxPerOwner: maxSyncPerConnection }),
      ...(maxLeases === undefined ? {} : { maxLeases }),
    });
    this.#barriers = new BarrierTable(
      (session, id) => answer(session, { kind: "ok", id }),
      maxSyncPerConnection,
    );
  }

  load(): void {
    for (const name of this.#store.loadLatches()) this.#latches.add(name);
    this.#semaphores.load();
  }

  handle(session: Session, message: Message): void {
    const { letter } = message.command;
    if ((session.hello?.minor ?? 0) < 2) {
      return session.drop(`1.2 command "${letter}" from a 1.1 peer, ignored`);
    }
    const request = parseSyncRequest(message);
    if ("fault" in request) {
      session.drop(`${request.fault} on "${letter}"`);
      if (request.id === undefined) return;
      const text = `Bad request "${letter}": ${request.fault}`;
      return answer(session, {
        kind: "error",
        id: request.id,
        code: "protocol",
        text,
      });
    }
    if (this.#host.bus?.clustered) return this.#clustered(session, request);
    let reply: SyncReply | undefined;
    try {
      const run = this.#handlers[request.kind] as (
        s: Session,
        r: SyncRequest,
      ) => SyncReply | undefined;
      reply = run(session, request);
    } catch (error) {
      return this.#answerError(session, request.id, error as Error);
    }
    if (reply !== undefined) this.#answer(session, request, reply);
  }

  /** Sends `reply`; a confirmed wait is then told to the tap's listeners (`emd/waits`). */
  #answer(session: Session, request: SyncRequest, reply: SyncReply): void {
    answer(session, reply);
    const tap = this.#host.counters?.tap;
    if (request.kind === "wait" && reply.kind === "ok" && tap?.watchingWaits) {
      tap.waited(request.names, session.peer);
    }
  }

  /**
   * A clustered node: latches, locks, semaphores, leases and barriers live in the cluster's store
   * (each answer waits for it; docs/CLUSTER.md).
   */
  #clustered(session: Session, request: SyncRequest): void {
    const bus = this.#host.bus!;
    const { id } = request;
    const latch = isLatchRequest(request);
    const latches = bus.latches, holds = bus.holds;
    if (latch ? latches === undefined : holds === undefined) {
      return answer(session, {
        kind: "error",
        id,
        code: "closed",
        text: `Cannot ${request.kind}: not connected to the NATS cluster`,
      });
    }
    if (!latch) {
      return holds!.request(this.#ownerOf(session), request as HoldRequest);
    }
    if (request.kind === "wait" && !session.receiving) {
      return answer(
        session,
        refused(
          id,
          "Cannot wait: this connection does not receive triggers (send F1 first)",
        ),
      );
    }
    clusterLatch(
      latches!,
      request,
      (name) =>
        this.#host.fanOut(encoder.encode(`T${name}\n`), 1, session.peer),
    ).then(
      (reply) => this.#answer(session, request, reply),
      (error: Error) => this.#answerError(session, id, error),
    );
  }

  /** The session as the cluster's holds see it (made once per session, clustered nodes only). */
  #ownerOf(session: Session): SyncOwner {
    this.#clusterOwners ??= new Map();
    let owner = this.#clusterOwners.get(session);
    if (owner === undefined) {
      owner = {
        peer: session.peer,
        answer: (reply) => answer(session, reply),
        revoke: (text) => session.refuse("closed", text),
      };
      this.#clusterOwners.set(session, owner);
    }
    return owner;
  }

  drop(session: Session): void {
    if (this.#clusterOwners !== undefined) this.#dropOwner(session);
    this.#semaphores.drop(session);
    this.#barriers.drop(session);
  }

  stop(): void {
    this.#semaphores.stop();
  }

  #dropOwner(session: Session): void {
    const owner = this.#clusterOwners!.get(session);
    if (owner === undefined) return;
    this.#clusterOwners!.delete(session);
    this.#host.bus?.holds?.drop(owner);
  }

  #handlers: Handlers = {
    latch: (session, { id, name }) => {
      this.#store.setLatch(name);
      this.#latches.add(name);
      this.#host.fanOut(encoder.encode(`T${name}\n`), 1, session.peer);
      return { kind: "ok", id };
    },
    reset: (_, { id, name }) => {
      this.#store.clearLatch(name);
      this.#latches.delete(name);
      return { kind: "ok", id };
    },
    wait: (session, { id, names }) => {
      if (!session.receiving) {
        return refused(
          id,
          "Cannot wait: this connection does not receive triggers (send F1 first)",
        );
      }
      const name = names.find((name) => this.#latches.has(name));
      return name === undefined
        ? { kind: "ok", id }
        : { kind: "latched", id, name };
    },
    acquire: (session, request) => {
      const result = this.#semaphores.acquire(session, request);
      if ("refused" in result) return refused(request.id, result.refused);
      if ("token" in result) {
        return { kind: "granted", id: request.id, token: result.token };
      }
      return undefined;
    },
    release: (session, { id, name, token }) => {
      const refusal = this.#semaphores.release(session, name, token);
      return refusal === undefined ? { kind: "ok", id } : refused(id, refusal);
    },
    renew: (_, { id, name, token, ttlMs }) => {
      const refusal = this.#semaphores.renew(name, token, ttlMs);
      return refusal === undefined ? { kind: "ok", id } : refused(id, refusal);
    },
    barrier: (session, { id, name, parties }) => {
      const refusal = this.#barriers.arrive(session, id, name, parties);
      return refusal === undefined ? undefined : refused(id, refusal);
    },
    withdraw: (session, { id }) => {
      if (!this.#semaphores.withdraw(session, id)) {
        this.#barriers.withdraw(session, id);
      }
      return { kind: "withdrawn", id };
    },
  };

  #answerError(session: Session, id: string, error: Error): void {
    const code = error instanceof EmError ? error.code : "failed";
    this.#log.warn("Sync request {id} of {peer} failed: {error}", {
      id,
      peer: session.peer,
      error: error.message,
    });
    answer(session, { kind: "error", id, code, text: error.message });
  }
}

function answer(session: Session, reply: SyncReply): void {
  session.sendMessage(encodeSyncReply(reply));
}

function refused(id: string, text: string): SyncReply {
  return { kind: "error", id, code: "refused", text };
}

type LatchRequest = Extract<SyncRequest, { kind: "latch" | "reset" | "wait" }>;

function isLatchRequest(request: SyncRequest): request is LatchRequest {
  return request.kind === "latch" || request.kind === "reset" ||
    request.kind === "wait";
}

/** A latch request against the cluster's store; `trigger` fans a latched name out. */
async function clusterLatch(
  latches: ClusterLatches,
  request: LatchRequest,
  trigger: (name: string) => void,
): Promise<SyncReply> {
  const { id } = request;
  if (request.kind === "latch") {
    await latches.set(request.name);
    trigger(request.name);
    return { kind: "ok", id };
  }
  if (request.kind === "reset") {
    await latches.clear(request.name);
    return { kind: "ok", id };
  }
  const name = await latches.firstSet(request.names);
  return name === undefined
    ? { kind: "ok", id }
    : { kind: "latched", id, name };
}
