import { EmError, FAILURES } from "../../protocol/mod.ts";
import type { BusLog, CallAnswer, ClusterCalls, RemoteCall } from "./bus.ts";
import type { Msg, NatsConnection } from "./_nats.ts";

/** NATS's "no responders" status: nobody subscribes to the subject of a request. */
const NO_RESPONDERS = 503;
/** Every node hosting an API joins this queue group of the API's subject: one of them runs a call. */
const QUEUE = "em";

/** What a {@link NatsCalls} needs from its bus. */
export interface NatsCallsOptions {
  /** `em.<name>`: the prefix of every subject. */
  readonly base: string;
  /** This node's id. */
  readonly nodeId: string;
  /** How long a call waits for a node to take it. */
  readonly acceptTimeoutMs: number;
  /** How long a node may stay unheard before a call it runs is given up. */
  readonly nodeTtlMs: number;
  /** True while the link is up. */
  connected(): boolean;
  /** Where to log. */
  readonly log: BusLog;
}

/**
 * Agent calls over NATS request/reply. A call goes to `em.<name>.api.<api>`, where each node
 * hosting the API subscribes in one queue group; the reply subject is the caller node's
 * `em.<name>.calls.<node>.<seq>`. The node that takes a call answers `A<node>` at once, then
 * `R<node>\n<answer JSON>` when the verb is done, so the caller knows whose death to watch.
 */
export class NatsCalls implements ClusterCalls {
  readonly nodeId: string;
  #nc: NatsConnection;
  #options: NatsCallsOptions;
  #pending = new Map<number, PendingCall>();
  #nextSeq = 0;
  #goneHandlers: ((key: string) => void)[] = [];
  #subjects: { calls: string; gone: string };

  constructor(nc: NatsConnection, options: NatsCallsOptions) {
    this.#nc = nc;
    this.#options = options;
    this.nodeId = options.nodeId;
    this.#subjects = {
      calls: `${options.base}.calls.${options.nodeId}`,
      gone: `${options.base}.gone`,
    };
    nc.subscribe(`${this.#subjects.calls}.*`, {
      callback: (_, msg) => this.#onAnswer(msg),
    });
    nc.subscribe(this.#subjects.gone, {
      callback: (_, msg) => this.#callerGone(msg.string()),
    });
  }

  async serve(
    apis: readonly string[],
    handler: (call: RemoteCall) => Promise<CallAnswer>,
  ): Promise<void> {
    for (const api of apis) {
      this.#nc.subscribe(this.#apiSubject(api), {
        queue: QUEUE,
        callback: (_, msg) => void this.#run(msg, handler),
      });
    }
    await this.#nc.flush();
  }

  async #run(
    msg: Msg,
    handler: (call: RemoteCall) => Promise<CallAnswer>,
  ): Promise<void> {
    if (!msg.reply) return;
    const call = decodeCall(msg.string());
    if (call === undefined) {
      return this.#options.log.warn("Dropped a malformed call on {subject}", {
        subject: msg.subject,
      });
    }
    const reply = msg.reply;
    this.#send(reply, `A${this.nodeId}`);
    const answer = await handler(call);
    this.#send(reply, `R${this.nodeId}\n${JSON.stringify(answer)}`);
  }

  /** Publishes unless the link is closed for good (the caller then gives the call up). */
  #send(subject: string, text: string): void {
    try {
      this.#nc.publish(subject, text);
    } catch (error) {
      this.#options.log.warn(
        "Cannot answer a call from another node: {error}",
        {
          error: (error as Error).message,
        },
      );
    }
  }

  call(call: RemoteCall): Promise<CallAnswer> {
    if (!this.#options.connected()) {
      return Promise.reject(
        new EmError(
          "closed",
          `Cannot call "${call.verb}" on another node: not connected to the NATS cluster`,
        ),
      );
    }
    const seq = this.#nextSeq++;
    const pending = new PendingCall(
      call.verb,
      this.#options.acceptTimeoutMs,
      () => this.#pending.delete(seq),
    );
    this.#pending.set(seq, pending);
    const api = call.verb.slice(0, call.verb.indexOf("/"));
    this.#nc.publish(this.#apiSubject(api), encodeCall(call), {
      reply: `${this.#subjects.calls}.${seq}`,
    });
    return pending.result;
  }

  #apiSubject(api: string): string {
    return `${this.#options.base}.api.${api}`;
  }

  #onAnswer(msg: Msg): void {
    const seq = Number(msg.subject.slice(msg.subject.lastIndexOf(".") + 1));
    const pending = this.#pending.get(seq);
    if (pending === undefined) return;
    if (msg.headers?.code === NO_RESPONDERS) {
      return pending.answer({
        failure: FAILURES.UNKNOWN_VERB,
        message: `No verb "${pending.verb}" on any node of the cluster`,
      });
    }
    const text = msg.string();
    const lf = text.indexOf("\n");
    if (text[0] === "A") return pending.accepted(text.slice(1), Date.now());
    const answer = text[0] === "R" && lf !== -1
      ? decodeAnswer(text.slice(lf + 1))
      : undefined;
    if (answer === undefined) {
      return pending.fail(`a malformed answer came from the cluster`);
    }
    pending.answer(answer);
  }

  forgetCaller(key: string): void {
    if (this.#options.connected()) this.#nc.publish(this.#subjects.gone, key);
    this.#callerGone(key);
  }

  onCallerGone(handler: (key: string) => void): void {
    this.#goneHandlers.push(handler);
  }

  #callerGone(key: string): void {
    for (const handler of this.#goneHandlers) handler(key);
  }

  /**
   * The bus's heartbeat tick: calls taken by a node unheard for the time to live fail; callers
   * of nodes that left are forgotten.
   */
  check(
    live: ReadonlySet<string>,
    left: Iterable<string>,
    nowMs: number,
  ): void {
    for (const pending of [...this.#pending.values()]) {
      const host = pending.host;
      if (host === undefined || live.has(host)) continue;
      if (nowMs - pending.acceptedAtMs > this.#options.nodeTtlMs) {
        pending.fail(`node "${host}" running it left the cluster`);
      }
    }
    for (const node of left) this.#callerGone(`${node}/`);
  }

  /** The node `node` said it leaves: calls it runs fail now. */
  nodeLeft(node: string): void {
    for (const pending of [...this.#pending.values()]) {
      if (pending.host === node) {
        pending.fail(`node "${node}" running it left the cluster`);
      }
    }
    this.#callerGone(`${node}/`);
  }

  /** The link dropped or the bus stops: answers may be lost, so every pending call fails. */
  failAll(why: string): void {
    for (const pending of [...this.#pending.values()]) pending.fail(why);
  }
}

/** One call sent to the cluster, until answered or given up. */
class PendingCall {
  readonly verb: string;
  readonly result: Promise<CallAnswer>;
  host: string | undefined;
  acceptedAtMs = 0;
  #resolve!: (answer: CallAnswer) => void;
  #reject!: (error: EmError) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #done: () => void;

  constructor(verb: string, acceptTimeoutMs: number, done: () => void) {
    this.verb = verb;
    this.#done = done;
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#timer = setTimeout(
      () => this.fail(`no node took it within ${acceptTimeoutMs} ms`),
      acceptTimeoutMs,
    );
  }

  accepted(host: string, nowMs: number): void {
    clearTimeout(this.#timer);
    this.host = host;
    this.acceptedAtMs = nowMs;
  }

  answer(answer: CallAnswer): void {
    this.#finish();
    this.#resolve(answer);
  }

  fail(why: string): void {
    this.#finish();
    this.#reject(new EmError("closed", `Cannot call "${this.verb}": ${why}`));
  }

  #finish(): void {
    clearTimeout(this.#timer);
    this.#done();
  }
}

function encodeCall(call: RemoteCall): string {
  return JSON.stringify([
    call.verb,
    call.args ?? null,
    call.caller ?? null,
    call.label,
    call.canReceive,
  ]);
}

function decodeCall(text: string): RemoteCall | undefined {
  try {
    const [verb, args, caller, label, canReceive] = JSON.parse(text) as [
      unknown,
      unknown,
      unknown,
      unknown,
      unknown,
    ];
    if (
      typeof verb !== "string" || typeof label !== "string" ||
      (args !== null && typeof args !== "string") ||
      (caller !== null && typeof caller !== "string")
    ) return undefined;
    return {
      verb,
      args: args ?? undefined,
      caller: caller ?? undefined,
      label,
      canReceive: canReceive === true,
    };
  } catch {
    return undefined;
  }
}

function decodeAnswer(text: string): CallAnswer | undefined {
  try {
    const answer = JSON.parse(text) as Record<string, unknown>;
    if (typeof answer?.json === "string") return { json: answer.json };
    if (
      typeof answer?.failure === "string" && typeof answer.message === "string"
    ) return { failure: answer.failure, message: answer.message };
  } catch { /* malformed */ }
  return undefined;
}
