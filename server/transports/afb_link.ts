import {
  AUTH_OPTIONS,
  authProof,
  type Block,
  decodeAfbMessage,
  decodeMessage,
  encodeAfbError,
  encodeMessage,
  encodeWsFrame,
  FLAG_RECEIVE,
  helloBlocks,
  importSecret,
  MAX_MESSAGE_OPTION,
  type Message,
  newNonce,
  nonceOf,
  PROTOCOL_VERSION,
  WS_CLOSE,
  WS_OPCODES,
  wsClosePayload,
  WsFrameDecoder,
  WsFrameError,
} from "../../protocol/mod.ts";
import type { Connection } from "../connection.ts";
import type { CloseOptions, CloseReason, Link } from "../link.ts";
import { EmApi } from "./_em_api.ts";
import {
  allEvents,
  eventFrames,
  type Outgoing,
  outgoingOf,
} from "./_afb_outgoing.ts";
import type { TransportLog } from "./transport.ts";

const encoder = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Generous limits for reading back the lines the server itself wrote. */
const OWN_LINES = { maxLineBytes: 1 << 30, maxParamChars: 1 << 30 };

/** What an {@link AfbLink} needs to know about its server and its client. */
export interface AfbLinkOptions {
  /** The largest message, both as a WebSocket message and as the protocol line it becomes. */
  readonly maxMessageBytes: number;
  /** The server's shared secret: the client must present it as its token. */
  readonly secret: string | Uint8Array | undefined;
  /** True when the upgrade request already carried the right token. */
  readonly authorized: boolean;
  /**
   * API names of the server's agents (calls to others are answered `unknown-api`); undefined:
   * any API, the server finds out (a clustered node asks the other nodes).
   */
  readonly agentApis: ReadonlySet<string> | undefined;
  /** Where faults of the client are logged. */
  readonly log: TransportLog;
}

/**
 * A WebSocket client speaking x-afb-ws-json1, as a {@link Link}: its calls become protocol 1.2
 * lines for its session (a hello with the receive flag first), and the lines the server sends it
 * become afb replies and events. Triggers and events shared by many receivers are translated once
 * (see `_afb_outgoing.ts`).
 */
export class AfbLink implements Link {
  readonly kind = "websocket";
  readonly peer: string;
  #conn: Connection;
  #options: AfbLinkOptions;
  #decoder: WsFrameDecoder;
  #rest: Uint8Array; // bytes the client sent right after its upgrade request
  #toSession: ((chunk: Uint8Array) => void) | undefined;
  #early: string[] = []; // lines for the session before its hello went
  #batch: string[] = []; // lines for the session from the current read
  #serverHello: Message | undefined;
  #helloState: "waiting" | "proving" | "sent" = "waiting";
  #authorized: boolean;
  #selects = (name: string): boolean => this.api.selects(name);
  #readEnded = false; // the peer's side ended: nobody would read its answer to a close frame
  readonly api: EmApi;

  constructor(
    conn: Connection,
    rest: Uint8Array,
    options: AfbLinkOptions,
  ) {
    this.#conn = conn;
    this.#rest = rest;
    this.#options = options;
    this.#authorized = options.authorized || options.secret === undefined;
    this.peer = `ws ${conn.peer}`;
    this.#decoder = new WsFrameDecoder(options.maxMessageBytes);
    this.api = new EmApi({
      sendLine: (line) => this.#toSessionLine(line),
      reply: (text) => this.#sendText(text),
      agentApis: options.agentApis,
      maxLineBytes: options.maxMessageBytes,
    });
    void conn.closed.then(() => this.api.stop());
  }

  get isClosed(): boolean {
    return this.#conn.isClosed;
  }

  get closeReason(): CloseReason | undefined {
    return this.#conn.closeReason;
  }

  get queuedBytes(): number {
    return this.#conn.queuedBytes;
  }

  get closed(): Promise<CloseReason> {
    return this.#conn.closed;
  }

  /** Lines from the server: hello, replies, triggers, data events; see `_afb_outgoing.ts`. */
  send(lines: Uint8Array): void {
    if (this.#conn.isClosed) return;
    const items = outgoingOf(lines);
    if (items.length === 1) return this.#deliver(items[0]!);
    if (!allEvents(items)) {
      for (const item of items) this.#deliver(item);
      return;
    }
    if (this.api.waiting) {
      for (const item of items) {
        if (item.kind === "event") this.api.observe(item.name);
      }
    }
    const frames = eventFrames(lines, items, this.api.signature, this.#selects);
    if (frames.length > 0) this.#conn.send(frames);
  }

  close(
    reason: string,
    fault = false,
    properties?: Readonly<Record<string, unknown>>,
  ): void {
    const code = fault ? WS_CLOSE.POLICY : WS_CLOSE.GOING_AWAY;
    this.#closeWith(code, reason, {
      fault,
      ...(properties ? { properties } : {}),
    });
  }

  /** The last lines are an `e<code>,<text>` line: the client gets its text as the close reason. */
  closeAfterFlush(
    lastLines: Uint8Array,
    reason: string,
    options: CloseOptions = {},
  ): void {
    const decoded = decodeMessage(
      lastLines.subarray(0, lastLines.indexOf(0x0a)),
      OWN_LINES,
    );
    const text = decoded.ok
      ? decoded.message.command.params[1] ?? reason
      : reason;
    this.#closeWith(WS_CLOSE.POLICY, text, options, reason);
  }

  async readLoop(
    onChunk: (chunk: Uint8Array) => void,
    paused?: () => Promise<void> | undefined,
  ): Promise<"eof" | "closed" | Error> {
    this.#toSession = onChunk;
    this.#maybeHello();
    if (this.#rest.length > 0) this.#onBytes(this.#rest);
    this.#rest = new Uint8Array(0);
    try {
      return await this.#conn.readLoop((chunk) => this.#onBytes(chunk), paused);
    } finally {
      this.#readEnded = true;
    }
  }

  #closeWith(
    code: number,
    text: string,
    options: CloseOptions,
    reason = text,
  ): void {
    if (this.#conn.isClosed || this.#readEnded) {
      return this.#conn.close(reason, options.fault, options.properties);
    }
    const frame = encodeWsFrame(WS_OPCODES.CLOSE, wsClosePayload(code, text));
    this.#conn.closeAfterFlush(frame, reason, options);
  }

  #deliver(item: Outgoing): void {
    switch (item.kind) {
      case "event":
        this.api.observe(item.name);
        if (!item.trigger || this.api.selects(item.name)) {
          this.#conn.send(item.frame());
        }
        return;
      case "hello":
        if (this.#serverHello !== undefined) return; // the confirmation of our proof
        this.#serverHello = item.message;
        return this.#maybeHello();
      case "reply":
        return this.api.settle(item.message);
      case "other":
        return;
    }
  }

  #sendText(text: string): void {
    this.#conn.send(encodeWsFrame(WS_OPCODES.TEXT, encoder.encode(text)));
  }

  #onBytes(chunk: Uint8Array): void {
    try {
      this.#decoder.push(chunk, (opcode, payload) => {
        if (!this.#conn.isClosed) this.#onMessage(opcode, payload);
      });
    } catch (error) {
      if (!(error instanceof WsFrameError)) throw error;
      this.#closeWith(error.closeCode, `Protocol error: ${error.message}`, {
        fault: true,
      });
    }
    this.#flushBatch();
  }

  #onMessage(opcode: number, payload: Uint8Array): void {
    switch (opcode) {
      case WS_OPCODES.TEXT:
        return this.#onText(payload);
      case WS_OPCODES.BINARY:
        return this.#closeWith(
          WS_CLOSE.UNSUPPORTED_DATA,
          "Protocol error: binary frame (x-afb-ws-json1 is text)",
          { fault: true },
        );
      case WS_OPCODES.CLOSE:
        return this.#closeWith(
          payload.length >= 2 ? WS_CLOSE.NORMAL : WS_CLOSE.NORMAL,
          "Peer closed the WebSocket",
          {},
        );
      case WS_OPCODES.PING:
        return this.#conn.send(encodeWsFrame(WS_OPCODES.PONG, payload.slice()));
    }
  }

  #onText(payload: Uint8Array): void {
    let text: string;
    try {
      text = utf8.decode(payload);
    } catch {
      return this.#closeWith(
        WS_CLOSE.INVALID_DATA,
        "Protocol error: text frame is not UTF-8",
        { fault: true },
      );
    }
    const message = decodeAfbMessage(text);
    if ("fault" in message) {
      if (message.idJson === undefined) {
        return this.#closeWith(
          WS_CLOSE.INVALID_DATA,
          `Protocol error: ${message.fault}`,
          { fault: true },
        );
      }
      this.#options.log.warn("Dropped a message from {peer}: {fault}", {
        peer: this.peer,
        fault: message.fault,
      });
      return this.#sendText(
        encodeAfbError(message.idJson, "bad-request", message.fault),
      );
    }
    if (message.kind !== "call") {
      const fault = message.kind === "event"
        ? `an event "${message.name}" from a client is ignored (use em/trigger)`
        : "a reply, but emd never calls clients";
      this.#options.log.warn("Dropped a message from {peer}: {fault}", {
        peer: this.peer,
        fault,
      });
      return;
    }
    if (!this.#authorized) {
      if (!this.#tokenMatches(message.token)) {
        this.#sendText(
          encodeAfbError(
            message.idJson,
            "unauthorized",
            "Authentication required: give this server's shared secret as the token",
          ),
        );
        return this.#closeWith(
          WS_CLOSE.POLICY,
          "Authentication failed: no or wrong token",
          { fault: true },
        );
      }
      this.#authorized = true;
      this.#maybeHello();
    }
    this.api.call(message);
  }

  #tokenMatches(token: string | undefined): boolean {
    const secret = this.#options.secret;
    return token !== undefined && secret !== undefined &&
      tokenEquals(token, secret);
  }

  #toSessionLine(line: string): void {
    if (this.#helloState !== "sent") this.#early.push(line);
    else this.#batch.push(line);
  }

  #flushBatch(): void {
    if (this.#batch.length === 0 || this.#toSession === undefined) return;
    const text = this.#batch.join("\n") + "\n";
    this.#batch = [];
    this.#toSession(encoder.encode(text));
  }

  /** Sends our hello once the server's arrived, the client is authorized and reading began. */
  #maybeHello(): void {
    const hello = this.#serverHello;
    if (
      this.#helloState !== "waiting" || hello === undefined ||
      !this.#authorized || this.#toSession === undefined
    ) return;
    this.#helloState = "proving";
    const options: Block[] = [{
      letter: MAX_MESSAGE_OPTION,
      params: [String(this.#options.maxMessageBytes)],
    }];
    const serverNonce = nonceOf(hello);
    const secret = this.#options.secret;
    if (serverNonce === undefined || secret === undefined) {
      return this.#sendHello(options);
    }
    void prove(secret, serverNonce).then(
      (proof) => this.#sendHello([...options, ...proof]),
      (error: Error) =>
        this.#closeWith(WS_CLOSE.POLICY, `Cannot prove: ${error.message}`, {
          fault: true,
        }),
    );
  }

  #sendHello(options: Block[]): void {
    if (this.#conn.isClosed) return;
    const blocks = helloBlocks(PROTOCOL_VERSION, options);
    const lines = [
      encodeMessage(blocks.command, blocks.options),
      encodeMessage({ letter: "F", params: [String(FLAG_RECEIVE)] }),
      ...this.#early,
    ];
    this.#early = [];
    this.#helloState = "sent";
    this.#batch.unshift(...lines);
    this.#flushBatch();
  }
}

/** The hello options proving the secret to the server's own check (the link stands in for the client). */
async function prove(
  secret: string | Uint8Array,
  serverNonce: string,
): Promise<Block[]> {
  const key = await importSecret(secret);
  const clientNonce = newNonce();
  const proof = await authProof(key, {
    role: "client",
    serverNonce,
    clientNonce,
  });
  return [
    { letter: AUTH_OPTIONS.NONCE, params: [clientNonce] },
    { letter: AUTH_OPTIONS.PROOF, params: [proof] },
  ];
}

/** Compares a token with the secret in time independent of where they differ. */
export function tokenEquals(
  token: string,
  secret: string | Uint8Array,
): boolean {
  const a = encoder.encode(token);
  const b = typeof secret === "string" ? encoder.encode(secret) : secret;
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    difference |= (a[i % (a.length || 1)] ?? 0) ^ (b[i % (b.length || 1)] ?? 0);
  }
  return difference === 0 && a.length === b.length;
}
