import {
  type AfbMessage,
  compilePattern,
  DATA_COMMANDS,
  encodeAfbError,
  encodeAfbReply,
  encodeMessage,
  FAILURES,
  isValidExtendedName,
  isValidPattern,
  type Message,
  SYNC_COMMANDS,
} from "../../protocol/mod.ts";

/** The API name of emd's own verbs for WebSocket clients; no agent may take it. */
export const EM_API = "em";

/** What the `em` API and the call translation need from their link. */
export interface EmApiHost {
  /** Hands one protocol line (no line end) to the client's session. */
  sendLine(line: string): void;
  /** Sends one x-afb-ws-json1 message to the client. */
  reply(text: string): void;
  /** API names of the server's agents; undefined: any (the server finds out). */
  readonly agentApis: ReadonlySet<string> | undefined;
  /** The largest line the session accepts, line end included. */
  readonly maxLineBytes: number;
}

type Call = Extract<AfbMessage, { kind: "call" }>;
/** How a request the link made of the session ended: a server line answering it. */
type Settle = (answer: Answer) => void;
type Answer =
  | { readonly ok: true; readonly json?: string; readonly latched?: string }
  | { readonly ok: false; readonly code: string; readonly text: string };

interface Waiter {
  readonly idJson: string;
  readonly names: ReadonlySet<string>;
  timer?: ReturnType<typeof setTimeout>;
}

const encoder = new TextEncoder();

/**
 * Turns a WebSocket client's calls into protocol 1.2 requests of its session and their answers
 * into afb replies: agents' verbs as `c`, and the built-in `em` API (trigger, subscribe,
 * unsubscribe, wait) as `t`, `l`, `s`, `u` and `w`. Holds the client's `em/subscribe` patterns
 * (which plain triggers it gets) and its pending waits.
 */
export class EmApi {
  #host: EmApiHost;
  #pending = new Map<string, Settle>();
  #next = 0;
  #selectors = new Map<string, (name: string) => boolean>();
  #waiters = new Set<Waiter>();
  #signature = "";

  constructor(host: EmApiHost) {
    this.#host = host;
  }

  /** The client's `em/subscribe` patterns as one string: equal for equal subscriptions. */
  get signature(): string {
    return this.#signature;
  }

  /** True while an `em/wait` is pending. */
  get waiting(): boolean {
    return this.#waiters.size > 0;
  }

  /** True when a plain trigger `name` matches one of the client's `em/subscribe` patterns. */
  selects(name: string): boolean {
    for (const matches of this.#selectors.values()) {
      if (matches(name)) return true;
    }
    return false;
  }

  /** A trigger or event `name` went by: pending `em/wait`s for it are answered. */
  observe(name: string): void {
    if (this.#waiters.size === 0) return;
    for (const waiter of this.#waiters) {
      if (waiter.names.has(name)) this.#endWait(waiter, name);
    }
  }

  /** A reply line from the session: the request it answers is settled. */
  settle(message: Message): void {
    const { letter, params } = message.command;
    const id = letter === "e" ? params[2] : params[0];
    const settle = id === undefined ? undefined : this.#pending.get(id);
    if (settle === undefined) return;
    this.#pending.delete(id!);
    settle(answerOf(letter, params));
  }

  /** The link closed: pending waits end without an answer. */
  stop(): void {
    for (const waiter of this.#waiters) clearTimeout(waiter.timer);
    this.#waiters.clear();
    this.#pending.clear();
  }

  /** Handles one call of the client. */
  call(call: Call): void {
    const slash = call.verb.indexOf("/");
    const api = call.verb.slice(0, slash);
    if (slash <= 0 || !isValidExtendedName(call.verb)) {
      return this.#fail(call, FAILURES.BAD_REQUEST, `Bad verb "${call.verb}"`);
    }
    if (api === EM_API) return this.#em(call, call.verb.slice(slash + 1));
    if (this.#host.agentApis?.has(api) === false) {
      return this.#fail(call, "unknown-api", `No API "${api}"`);
    }
    this.#request(call, DATA_COMMANDS.CALL, [
      call.verb,
      JSON.stringify(call.args),
    ], (answer) => this.#answer(call, answer));
  }

  #em(call: Call, verb: string): void {
    const args = (call.args ?? {}) as Record<string, unknown>;
    if (typeof args !== "object" || Array.isArray(args)) {
      return this.#fail(
        call,
        FAILURES.BAD_REQUEST,
        `em/${verb}: args must be an object`,
      );
    }
    switch (verb) {
      case "trigger":
        return this.#trigger(call, args);
      case "subscribe":
      case "unsubscribe":
        return this.#subscribe(call, args, verb === "subscribe");
      case "wait":
        return this.#wait(call, args);
      default:
        return this.#fail(call, FAILURES.UNKNOWN_VERB, `No verb "em/${verb}"`);
    }
  }

  #trigger(call: Call, args: Record<string, unknown>): void {
    const { event, data, latch } = args;
    if (typeof event !== "string" || !isValidExtendedName(event)) {
      return this.#fail(
        call,
        FAILURES.BAD_REQUEST,
        `em/trigger: bad event name ${JSON.stringify(event)}`,
      );
    }
    if (latch === true) {
      if (data !== undefined) {
        return this.#fail(
          call,
          FAILURES.BAD_REQUEST,
          "em/trigger: a latched event carries no data",
        );
      }
      return this.#request(
        call,
        SYNC_COMMANDS.LATCH,
        [event],
        (answer) =>
          this.#answer(
            call,
            answer.ok
              ? { ok: true, json: '{"receivers":null,"latched":true}' }
              : answer,
          ),
      );
    }
    const params = data === undefined ? [event] : [event, JSON.stringify(data)];
    this.#request(
      call,
      DATA_COMMANDS.TRIGGER,
      params,
      (answer) =>
        this.#answer(
          call,
          answer.ok
            ? { ok: true, json: `{"receivers":${answer.json ?? 0}}` }
            : answer,
        ),
    );
  }

  #subscribe(call: Call, args: Record<string, unknown>, on: boolean): void {
    const { event } = args;
    const verb = on ? "subscribe" : "unsubscribe";
    if (typeof event !== "string" || !isValidPattern(event)) {
      return this.#fail(
        call,
        FAILURES.BAD_REQUEST,
        `em/${verb}: bad event name or pattern ${JSON.stringify(event)}`,
      );
    }
    const letter = on ? DATA_COMMANDS.SUBSCRIBE : DATA_COMMANDS.UNSUBSCRIBE;
    this.#request(call, letter, [event], (answer) => {
      if (answer.ok && on) this.#selectors.set(event, compilePattern(event));
      if (answer.ok && !on) this.#selectors.delete(event);
      this.#signature = [...this.#selectors.keys()].sort().join("\n");
      this.#answer(call, answer.ok ? { ok: true, json: "null" } : answer);
    });
  }

  #wait(call: Call, args: Record<string, unknown>): void {
    const { events, timeoutMs } = args;
    const names = Array.isArray(events) ? events : [];
    if (
      names.length === 0 ||
      !names.every((n) => typeof n === "string" && isValidExtendedName(n))
    ) {
      return this.#fail(
        call,
        FAILURES.BAD_REQUEST,
        "em/wait: events must be a non-empty array of event names",
      );
    }
    if (
      timeoutMs !== undefined &&
      !(Number.isSafeInteger(timeoutMs) && (timeoutMs as number) >= 0)
    ) {
      return this.#fail(
        call,
        FAILURES.BAD_REQUEST,
        `em/wait: bad timeoutMs ${JSON.stringify(timeoutMs)}`,
      );
    }
    const waiter: Waiter = {
      idJson: call.idJson,
      names: new Set(names as string[]),
    };
    this.#waiters.add(waiter);
    if (timeoutMs !== undefined) {
      waiter.timer = setTimeout(() => {
        if (!this.#waiters.delete(waiter)) return;
        this.#host.reply(
          encodeAfbError(
            call.idJson,
            "timeout",
            `Nothing of ${names.join(", ")} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs as number);
    }
    this.#request(call, SYNC_COMMANDS.WAIT, names as string[], (answer) => {
      if (!this.#waiters.has(waiter)) return;
      if (!answer.ok) {
        this.#waiters.delete(waiter);
        clearTimeout(waiter.timer);
        return this.#answer(call, answer);
      }
      if (answer.latched !== undefined) this.#endWait(waiter, answer.latched);
    });
  }

  #endWait(waiter: Waiter, name: string): void {
    if (!this.#waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    this.#host.reply(
      encodeAfbReply(waiter.idJson, JSON.stringify({ event: name })),
    );
  }

  /** Sends a request line with a fresh id to the session; `settle` gets its answer. */
  #request(call: Call, letter: string, params: string[], settle: Settle): void {
    const id = (++this.#next).toString(36);
    const line = encodeMessage({ letter, params: [id, ...params] });
    const bytes = encoder.encode(line).byteLength + 1;
    if (bytes > this.#host.maxLineBytes) {
      return this.#fail(
        call,
        FAILURES.BAD_REQUEST,
        `Cannot send "${call.verb}": ${bytes} bytes as a message, over ${this.#host.maxLineBytes}`,
      );
    }
    this.#pending.set(id, settle);
    this.#host.sendLine(line);
  }

  #answer(call: Call, answer: Answer): void {
    if (answer.ok) {
      return this.#host.reply(
        encodeAfbReply(call.idJson, answer.json ?? "null"),
      );
    }
    this.#fail(call, answer.code, answer.text);
  }

  #fail(call: Call, code: string, text: string): void {
    this.#host.reply(encodeAfbError(call.idJson, code, text));
  }
}

/** What a reply line says: `r` and sync `o`/`y` succeed, `x` and `e` fail. */
function answerOf(letter: string, params: readonly string[]): Answer {
  switch (letter) {
    case DATA_COMMANDS.REPLY:
      return {
        ok: true,
        ...(params[1] === undefined ? {} : { json: params[1] }),
      };
    case DATA_COMMANDS.FAIL:
      return {
        ok: false,
        code: params[1] ?? FAILURES.FAILED,
        text: params[2] ?? "",
      };
    case SYNC_COMMANDS.LATCHED:
      return { ok: true, latched: params[1] ?? "" };
    case "e":
      return {
        ok: false,
        code: params[0] ?? FAILURES.FAILED,
        text: params[1] ?? "",
      };
    default:
      return { ok: true };
  }
}
