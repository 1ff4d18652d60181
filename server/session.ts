import {
  type Block,
  COMMANDS,
  decodeMessage,
  EmError,
  encodeMessage,
  FLAG_RECEIVE,
  isCompatible,
  isPlainTrigger,
  isRequired,
  type Limits,
  LineFramer,
  type Message,
  parseHello,
  PROTOCOL_VERSION,
  textBytes,
  TriggerRunScanner,
  unknownRequiredOption,
} from "../protocol/mod.ts";
import type { Link } from "./link.ts";
import { AUTH_FAILED, type Authenticator, type AuthOutcome } from "./auth.ts";
import { serverLogger } from "./_log.ts";
import { closeForLimit, type MessageRate } from "./limits.ts";
import type { FlowControl } from "./flow_control.ts";

const log = serverLogger("session");
const encoder = new TextEncoder();
const LF = 0x0a;
const CR = 0x0d;
/** Shared by every session: a scan is synchronous and its line count is read at once. */
const triggerRuns = new TriggerRunScanner();
/** Input held while a hello's proof is being checked; more closes the connection. */
export const MAX_HELD_BYTES = 64 * 1024;
const T = 0x54;

/** What a session needs from its server. */
export interface SessionHost {
  /** The limits messages are decoded with. */
  readonly limits: Limits;
  /** Handles a command after the hello; returns false if the letter is unknown. */
  dispatch(session: Session, message: Message): boolean;
  /** Delivers a frame of `lines` `T<name>\n` lines from `from` (a peer) to every receiving session. */
  fanOut(frame: Uint8Array, lines?: number, from?: string): number;
  /** The session's receive flag changed. */
  setReceiving(session: Session, receiving: boolean): void;
  /** The session's hello was accepted: features may read its options (e.g. `m`). */
  onHello?(session: Session, message: Message): void;
  /** A new token bucket for the session's messages; none: no limit. */
  newMessageRate?(): MessageRate | undefined;
  /** With a shared secret: checks each hello's proof before anything else is handled. */
  readonly auth?: Authenticator;
  /** Flow control: what a session whose input reached a backlogged receiver waits for. */
  readonly flow?: Pick<FlowControl, "pressure" | "paused">;
  /** The session's read loop ended and its connection is closed: forget the session. */
  sessionEnded?(session: Session): void;
}

/** The protocol state of one connection: hello, flags, and the hot path for triggers. */
export class Session {
  /** The link (a TCP connection, or a transport's translation) this session speaks over. */
  readonly connection: Link;
  /** The peer's hello once received. */
  hello: { major: number; minor: number; appName?: string } | undefined;
  /** True when flag bit 1 is set: the session receives triggers. */
  receiving = false;
  /** The nonce sent in this connection's hello, when the server has a shared secret. */
  challenge: string | undefined;
  #host: SessionHost;
  #framer: LineFramer;
  #batch: Uint8Array[] | undefined; // plain triggers (runs of them too) without their last "\n"
  #batchBytes = 0;
  #batchLines = 0;
  #limits: Limits;
  #rate: MessageRate | undefined;
  #lines = 0; // lines framed from the current chunk, for the message rate
  #held: Uint8Array[] | undefined; // lines read while the hello's proof is checked
  #heldBytes = 0;
  #run: Promise<void> | undefined;
  #onChunkBound = (chunk: Uint8Array): void => this.#onChunk(chunk);
  #pressure = 0; // the flow control's pressure before the current chunk
  #pausedBound = (): Promise<void> | undefined => this.#paused();

  constructor(connection: Link, host: SessionHost) {
    this.connection = connection;
    this.#host = host;
    this.#rate = host.newMessageRate?.();
    this.#limits = host.limits;
    this.#framer = new LineFramer(host.limits.maxLineBytes);
  }

  /** The limits this session's messages are read with (1.2 peers may agree on larger ones). */
  get limits(): Limits {
    return this.#limits;
  }

  /** Changes the limits, e.g. after a 1.2 hello agreed on a larger message size. */
  setLimits(limits: Limits): void {
    this.#limits = limits;
    this.#framer.maxLineBytes = limits.maxLineBytes;
  }

  /** How the peer came (its link's kind, e.g. `"tcp"`). */
  get kind(): string {
    return this.connection.kind;
  }

  /** `host:port` of the peer. */
  get peer(): string {
    return this.connection.peer;
  }

  /** Sends one message with a `\n` line end. */
  sendMessage(text: string): void {
    this.connection.send(textBytes(text + "\n"));
  }

  /** Logs a fault naming the peer and closes the connection. */
  fail(fault: string): void {
    this.connection.close(`Protocol error: ${fault}`, true);
  }

  /** Logs a fault naming the peer and drops only the message. */
  drop(fault: string): void {
    log.warn("Dropped a message from {peer}: {fault}", {
      peer: this.peer,
      fault,
    });
  }

  /**
   * Runs the read loop until the connection ends, then tells the host (`sessionEnded`); later calls
   * return the same promise. No async frame and no promise chain of its own: idle peers stay small.
   */
  run(): Promise<void> {
    return this.#run ??= this.connection.readLoop(
      this.#onChunkBound,
      this.#pausedBound,
    ).then((result) => this.#ended(result));
  }

  #ended(result: "eof" | "closed" | Error): void {
    this.#close(result);
    this.#host.sessionEnded?.(this);
  }

  #close(result: "eof" | "closed" | Error): void {
    if (result === "eof") {
      const pending = this.#framer.pendingBytes;
      if (pending > 0) {
        this.connection.close(
          `Peer closed mid-message (${pending} bytes unterminated)`,
          true,
        );
      } else this.connection.close("Peer closed the connection");
    } else if (result !== "closed") {
      this.connection.close(`Cannot read: ${result.message}`, true);
    }
  }

  /** A chunk of ours was queued onto a backlogged receiver: wait until it catches up. */
  #paused(): Promise<void> | undefined {
    const flow = this.#host.flow;
    if (flow === undefined || flow.pressure === this.#pressure) return;
    return flow.paused;
  }

  #onChunk(chunk: Uint8Array): void {
    this.#pressure = this.#host.flow?.pressure ?? 0;
    const onLine = (line: Uint8Array) => this.#onLine(line); // per read: idle sessions stay small
    try {
      let rest = chunk;
      if (this.#framer.pendingBytes > 0) { // finish the line an earlier read began
        const lf = chunk.indexOf(LF);
        const end = lf !== -1 && chunk.lastIndexOf(CR, lf) === -1
          ? lf + 1
          : chunk.length; // a CR in it: the framer sorts out the line ends
        this.#framer.push(chunk.subarray(0, end), onLine);
        rest = chunk.subarray(end);
      }
      rest = this.#takeTriggerRun(rest);
      this.#framer.push(rest, onLine);
    } catch (error) {
      if (!(error instanceof EmError)) throw error;
      this.#flushBatch(); // the triggers before the bad line go out first, as line by line
      this.fail(error.message);
    }
    this.#flushBatch();
    if (this.#rate !== undefined) this.#spend();
  }

  /**
   * The fast path for pipelined triggers: the run of whole plain `T<name>\n` lines at the start of
   * `chunk` (one scan, see {@link TriggerRunScanner}) joins the batch as one piece, so a read of
   * thousands of triggers becomes one frame that every receiver gets, copied once. Returns what
   * is left for the framer.
   */
  #takeTriggerRun(chunk: Uint8Array): Uint8Array {
    const ready = chunk[0] === T && this.hello !== undefined &&
      this.#held === undefined && this.#framer.atLineStart &&
      !this.connection.isClosed;
    if (!ready) return chunk;
    const end = triggerRuns.scan(chunk);
    if (end === 0) return chunk;
    const lines = triggerRuns.lines;
    this.#lines += lines;
    (this.#batch ??= []).push(chunk.subarray(0, end - 1)); // #flushBatch adds the last "\n" back
    this.#batchBytes += end;
    this.#batchLines += lines;
    return chunk.subarray(end);
  }

  #spend(): void {
    const rate = this.#rate!;
    if (!rate.spend(this.#lines, Date.now())) { // not performance.now(): an op, twice the cost
      closeForLimit(
        this.connection,
        "maxMessagesPerSecond",
        rate.perSecond,
        `Too many messages: over ${rate.perSecond} a second (burst ${rate.burst})`,
      );
    }
    this.#lines = 0;
  }

  #onLine(line: Uint8Array): boolean {
    this.#lines++;
    if (this.connection.isClosed) return false;
    if (line.length === 0) return true; // an empty line carries nothing: skipped silently
    if (this.#held !== undefined) return this.#hold(line);
    if (this.hello !== undefined && line[0] === T && isPlainTrigger(line)) {
      (this.#batch ??= []).push(line);
      this.#batchBytes += line.length + 1;
      this.#batchLines++;
      return true;
    }
    this.#flushBatch(); // keep order: triggers before this message go out first
    const decoded = decodeMessage(line, this.#limits);
    if (!decoded.ok) {
      if (decoded.closes) this.fail(decoded.fault);
      else this.drop(decoded.fault);
    } else if (this.hello === undefined) {
      this.#onHello(decoded.message);
    } else if (!this.#host.dispatch(this, decoded.message)) {
      const { letter } = decoded.message.command;
      if (isRequired(letter)) this.fail(`unknown command "${letter}"`);
    }
    return !this.connection.isClosed;
  }

  #onHello(message: Message): void {
    const hello = parseHello(message);
    if ("fault" in hello) return this.fail(hello.fault);
    const option = unknownRequiredOption(message, "");
    if (option !== undefined) {
      return this.fail(`unknown option "${option}" on "H"`);
    }
    if (!isCompatible(hello)) {
      return this.fail(
        `incompatible protocol version ${hello.major}.${hello.minor}`,
      );
    }
    const auth = this.#host.auth;
    if (auth === undefined || this.challenge === undefined) {
      return this.#accept(hello, message);
    }
    this.#held = [];
    auth.check(this.challenge, message).then(
      (outcome) => this.#checked(outcome, hello, message),
      (error: Error) =>
        this.#checked(
          {
            ok: false,
            fault: `Cannot check the proof: ${error.message}`,
            text: AUTH_FAILED,
          },
          hello,
          message,
        ),
    );
  }

  #accept(hello: NonNullable<Session["hello"]>, message: Message): void {
    this.hello = hello;
    this.#host.onHello?.(this, message);
  }

  /** A hello's proof was checked: refuse, or confirm and handle what arrived meanwhile. */
  #checked(
    outcome: AuthOutcome,
    hello: NonNullable<Session["hello"]>,
    message: Message,
  ): void {
    if (this.connection.isClosed) return;
    if (!outcome.ok) return this.refuse("auth", outcome.text, outcome.fault);
    log.info("Authenticated {peer}", { peer: this.peer });
    this.reply(COMMANDS.HELLO, [PROTOCOL_VERSION], [outcome.confirm]);
    this.#accept(hello, message);
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const line of held) if (!this.#onLine(line)) break;
    this.#flushBatch();
  }

  #hold(line: Uint8Array): boolean {
    this.#heldBytes += line.length + 1;
    if (this.#heldBytes > MAX_HELD_BYTES) {
      this.fail(`over ${MAX_HELD_BYTES} bytes sent before authentication`);
      return false;
    }
    this.#held!.push(line.slice());
    return true;
  }

  #flushBatch(): void {
    if (this.#batch === undefined) return;
    const frame = new Uint8Array(this.#batchBytes);
    let offset = 0;
    for (const line of this.#batch) {
      frame.set(line, offset);
      offset += line.length;
      frame[offset++] = LF;
    }
    const lines = this.#batchLines;
    this.#batch = undefined;
    this.#batchBytes = 0;
    this.#batchLines = 0;
    this.#host.fanOut(frame, lines, this.peer);
  }

  /** Sets flags from an `F` command. */
  setFlags(flags: number): void {
    this.receiving = (flags & FLAG_RECEIVE) !== 0;
    this.#host.setReceiving(this, this.receiving);
  }

  /** Encodes and sends a reply built from blocks. */
  reply(
    letter: string,
    params: readonly string[],
    options: readonly Block[] = [],
  ): void {
    this.sendMessage(encodeMessage({ letter, params }, options));
  }

  /**
   * Sends the 1.2 error message `e<code>,<text>` (lower case: a 1.1 peer ignores it), e.g. before
   * closing a connection for a reason the peer should be told.
   */
  sendError(code: string, text: string): void {
    this.reply(COMMANDS.ERROR, [code, text]);
  }

  /**
   * Tells the peer why with `e<code>,<text>`, then closes once the peer has had the chance to read
   * it (bounded); `reason` is the log line's. Nothing the peer sends afterwards is handled.
   */
  refuse(code: string, text: string, reason = text): void {
    const line = encodeMessage({
      letter: COMMANDS.ERROR,
      params: [code, text],
    });
    this.connection.closeAfterFlush(encoder.encode(line + "\n"), reason, {
      fault: true,
      properties: { code },
    });
  }
}

export { COMMANDS };
