import type { JsonValue } from "../../protocol/mod.ts";

/**
 * A signaling agent: a service with an API name whose verbs clients call (`speed/subscribe`) and
 * whose events (`speed/kmh-1Hz`) carry JSON data to subscribers. Hosted by emd
 * (`emd --agent ./my_agent.ts …` or `startServer({ agents: [...] })`).
 */
export interface Agent {
  /** The API name, the prefix of its verbs and events: `[A-Za-z0-9_-]+`, unique per server. */
  readonly api: string;
  /** Runs once when the server starts, before any verb; a throw stops the server from starting. */
  init?(ctx: AgentContext): void | Promise<void>;
  /**
   * Request handlers by verb name. A verb answers with `req.reply` / `req.fail`, or by returning a
   * value (the reply; `undefined` replies `null`). A throw becomes a failed reply, code "failed".
   */
  readonly verbs: Readonly<Record<string, Verb>>;
  /** Runs for every broadcast (but the agent's own) and for events it subscribed to. */
  onEvent?(
    name: string,
    data: JsonValue | undefined,
    ctx: AgentContext,
  ): void | Promise<void>;
  /** Runs once when the server stops: clear timers, release resources. */
  stop?(ctx: AgentContext): void | Promise<void>;
}

/** One verb of an agent. */
export type Verb = (
  req: AgentRequest,
  ctx: AgentContext,
) => unknown | Promise<unknown>;

/** What an agent can do with the server. */
export interface AgentContext {
  /** The agent's API name. */
  readonly api: string;
  /**
   * The event `api/name`; asking again for the same name returns the same event while it is not
   * dropped (one chain, one event per stream).
   * @throws {TypeError} for an invalid name
   */
  makeEvent(name: string): AgentEvent;
  /** Events made and not dropped, by full name. */
  readonly events: ReadonlyMap<string, AgentEvent>;
  /**
   * Delivers `api/name` with data to every receiving 1.2 connection and every other agent.
   * @returns how many received it
   */
  broadcastEvent(name: string, data?: JsonValue): number;
  /**
   * Calls another agent's verb (`api/verb`) in the server.
   * @throws {CallError} when the verb fails or does not exist
   */
  call(verb: string, args?: JsonValue): Promise<JsonValue>;
  /** Runs `onEvent` for events matching a name or pattern (`camera/*`). */
  subscribe(nameOrPattern: string): void;
  /** Undoes {@link AgentContext.subscribe}. */
  unsubscribe(nameOrPattern: string): void;
}

/** One named event of an agent: a stream of JSON data. */
export interface AgentEvent {
  /** The full name, `api/name`. */
  readonly name: string;
  /** True after {@link AgentEvent.drop}. */
  readonly dropped: boolean;
  /** Receivers subscribed to this event itself (patterns not counted). */
  readonly subscriberCount: number;
  /**
   * Delivers data to the event's subscribers and to every receiver whose pattern matches.
   * @returns how many received it; 0 means nobody listens. In a cluster: this node's receivers
   * and the subscribers made by calls run here (use {@link AgentEvent.pushCounted} for all nodes)
   * @throws {EventDroppedError} after `drop()`
   * @throws {RangeError} when the data does not fit in a message
   */
  push(data?: JsonValue): number;
  /**
   * {@link AgentEvent.push}, resolving to how many received it on every node of a cluster (each
   * live node answers, within the cluster's `countTimeoutMs`); on one emd, the same as `push`.
   * @returns how many received it
   * @throws {EventDroppedError} after `drop()`
   * @throws {EmError} (rejects) code "closed" when the link to the other nodes is down
   */
  pushCounted(data?: JsonValue): Promise<number>;
  /**
   * Delivers data to every receiving 1.2 connection and every other agent.
   * @returns how many received it (in a cluster: on this node)
   * @throws {EventDroppedError} after `drop()`
   */
  broadcast(data?: JsonValue): number;
  /**
   * {@link AgentEvent.broadcast}, resolving to how many received it on every node of a cluster.
   * @returns how many received it
   * @throws {EventDroppedError} after `drop()`
   * @throws {EmError} (rejects) code "closed" when the link to the other nodes is down
   */
  broadcastCounted(data?: JsonValue): Promise<number>;
  /** Unsubscribes everyone and forgets the event; `makeEvent` later makes a new one. */
  drop(): void;
}

/** One call of a verb. */
export interface AgentRequest {
  /** The full verb, `api/verb`. */
  readonly verb: string;
  /** The JSON arguments; `null` when none were sent. */
  readonly args: JsonValue;
  /** Who called: `host:port` of a connection, or `agent:<api>`. */
  readonly caller: string;
  /** True once replied or failed. */
  readonly answered: boolean;
  /**
   * Subscribes the caller to an event; twice is the same as once.
   * @throws {CallError} code "cannot-receive" when the caller cannot receive events
   * @throws {EventDroppedError} for a dropped event
   */
  subscribe(event: AgentEvent): void;
  /** Unsubscribes the caller from an event at once. */
  unsubscribe(event: AgentEvent): void;
  /** Answers with data; later answers are ignored. */
  reply(data?: JsonValue): void;
  /** Answers with a failure: a code (`[A-Za-z0-9_.-]+`) and a message. */
  fail(code: string, message: string): void;
}

/** Using an event after `drop()`. */
export class EventDroppedError extends TypeError {
  /** The event's full name. */
  readonly event: string;
  /**
   * Makes the error for one dropped event.
   * @param event the event's full name
   */
  constructor(event: string) {
    super(`Cannot use event "${event}": it was dropped`);
    this.name = "EventDroppedError";
    this.event = event;
  }
}

const API = /^[A-Za-z0-9_-]{1,64}$/;
const VERB = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Checks an agent's shape and returns it unchanged; use it as a module's default export.
 * @param agent the agent
 * @returns the same agent
 * @throws {TypeError} for a bad API name, a missing or bad verb
 * @example A one-verb agent
 * ```ts
 * import { defineAgent } from "../../mod.ts";
 * export default defineAgent({
 *   api: "clock",
 *   verbs: { now: () => ({ ms: Date.now() }) },
 * });
 * ```
 */
export function defineAgent(agent: Agent): Agent {
  if (typeof agent !== "object" || agent === null) {
    throw new TypeError("Invalid agent: expected an object");
  }
  if (typeof agent.api !== "string" || !API.test(agent.api)) {
    throw new TypeError(
      `Invalid agent API name "${agent.api}": use 1 to 64 characters of [A-Za-z0-9_-]`,
    );
  }
  if (typeof agent.verbs !== "object" || agent.verbs === null) {
    throw new TypeError(
      `Invalid agent "${agent.api}": "verbs" must be an object`,
    );
  }
  for (const [name, verb] of Object.entries(agent.verbs)) {
    if (!VERB.test(name) || typeof verb !== "function") {
      throw new TypeError(
        `Invalid verb "${agent.api}/${name}": use [A-Za-z0-9_.-] and a function`,
      );
    }
  }
  return agent;
}
