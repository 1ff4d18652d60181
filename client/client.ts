import {
  assertName,
  COMMANDS,
  DATA_COMMANDS,
  decodeMessage,
  DEFAULT_MAX_MESSAGE_BYTES,
  EmError,
  type Hello,
  isValidName,
  type JsonValue,
  type Limits,
  MAX_LINE_BYTES,
  type Message,
} from "../protocol/line_codec.ts";
import { untilSettled, type WaitOptions } from "./_deadline.ts";
import {
  agreeOnHello,
  errorCode,
  exchangeHellos,
  readServerHello,
} from "./_hello.ts";
import { DataChannel } from "./data_channel.ts";
import { SyncChannel } from "./sync_channel.ts";
import { DelegatingClient } from "./_delegating_client.ts";
import { TriggerWaits } from "./_trigger_waits.ts";
import { LineSocket } from "./_line_socket.ts";
import { endReason, type Refusal } from "./_replies.ts";
import type { ConnectOptions, EmClient } from "./em_client.ts";
import type { TriggerOptions } from "./sync.ts";

/** A connection to an em server after `connect()` opened its socket; `handshake()` comes first. */
export class Client extends DelegatingClient implements EmClient {
  readonly receiving: boolean;
  readonly closed: Promise<EmError>;
  #server: Hello | undefined;
  #socket: LineSocket;
  #where: string;
  #appName: string | undefined;
  #limits: Limits = { maxLineBytes: MAX_LINE_BYTES, maxParamChars: 255 };
  #ourMaxMessage: number;
  protected readonly data: DataChannel;
  protected readonly sync: SyncChannel;
  #syncVersion: string | undefined;
  #waits: TriggerWaits;
  #failures = new Set<(error: Error) => void>();
  #pings = new Map<string, () => void>();
  #pingSeq = 0;
  #error: EmError | undefined;
  #key: CryptoKey | undefined;
  #helloWaiter: PromiseWithResolvers<Message> | undefined; // the handshake waits for a hello
  #ready = false; // the handshake is over
  #closing: Promise<void> | undefined;
  #refusal: Refusal | undefined; // the server's last `e`
  #quitAnswer: ((refusal: EmError) => void) | undefined; // a pending 1.2 quit
  #resolveClosed!: (error: EmError) => void;

  constructor(
    conn: Deno.Conn,
    where: string,
    options: ConnectOptions,
    key: CryptoKey | undefined,
  ) {
    super();
    this.#key = key;
    this.#where = where;
    this.receiving = options.receive ?? false;
    this.#appName = options.appName;
    this.#waits = new TriggerWaits(
      this.receiving,
      options.maxRememberedTriggers ?? 10_000,
    );
    this.#ourMaxMessage = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.data = new DataChannel({
      where,
      receiving: this.receiving,
      serverMinor: () => this.#server?.minor ?? 0,
      maxLineBytes: () => this.#limits.maxLineBytes,
      send: (text) => this.#send(text),
    });
    this.sync = new SyncChannel({
      where,
      maxLineBytes: () => this.#limits.maxLineBytes,
      receiving: this.receiving,
      syncVersion: () => this.#syncVersion,
      send: (text) => this.#send(text),
      requestAny: (names, resolve) => this.#waits.requestAny(names, resolve),
      flush: () => this.flush(),
    });
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#socket = new LineSocket(conn, where, {
      onLine: (line) => this.#onLine(line),
      failure: () => this.#error,
      endReason: () => this.#endReason(),
      fail: (error) => this.#fail(error),
    });
  }

  get server(): Hello {
    return this.#server!;
  }

  /** Exchanges hellos (and proofs, with a secret); on failure the connection is closed. */
  async handshake(): Promise<void> {
    try {
      await exchangeHellos({
        where: this.#where,
        key: this.#key,
        appName: this.#appName,
        maxLineBytes: () => this.#limits.maxLineBytes,
        receiving: this.receiving,
        nextHello: () => this.#nextHello(),
        send: (text) => this.#send(text),
      });
      this.#ready = true;
    } catch (error) {
      if (error instanceof EmError) this.#fail(error);
      throw error;
    }
  }

  /** The next hello from the server (its first message must be one). */
  #nextHello(): Promise<Message> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const waiter = this.#helloWaiter = Promise.withResolvers<Message>();
    this.#failures.add(waiter.reject);
    return waiter.promise.finally(() => this.#failures.delete(waiter.reject));
  }

  wait(
    name: string,
    timeoutMs = -1,
    options: WaitOptions = {},
  ): Promise<boolean> {
    return this.#waits.wait(name, timeoutMs, options);
  }

  next(name: string, options: WaitOptions = {}): Promise<boolean> {
    return this.#waits.next(name, options);
  }

  triggers(
    name: string,
    options: { signal?: AbortSignal } = {},
  ): AsyncIterable<string> {
    return this.#waits.triggers(name, options);
  }

  get maxMessageBytes(): number {
    return this.#limits.maxLineBytes;
  }

  trigger(name: string): Promise<void>;
  trigger(name: string, options: TriggerOptions): Promise<void>;
  trigger(name: string, data: JsonValue): Promise<number>;
  trigger(
    name: string,
    ...data: [] | [JsonValue | TriggerOptions]
  ): Promise<void | number> {
    if (data.length === 1 && isTriggerOptions(data[0])) {
      if (data[0].latch) return this.sync.latch(name);
    } else if (data.length === 1) {
      return this.data.triggerData(name, data[0] as JsonValue);
    }
    assertName(name);
    return this.#send(`${COMMANDS.TRIGGER}${name}\n`);
  }

  async quit(serverName: string, options: WaitOptions = {}): Promise<void> {
    assertName(serverName);
    const text = `${COMMANDS.QUIT}${serverName}\n`;
    if ((this.#server?.minor ?? 0) < 2) return await this.#send(text); // 1.1: no answer either way
    let refusal: EmError | undefined;
    const answered = untilSettled((settle) => {
      this.#quitAnswer = (error) => (refusal = error, settle());
      this.#failures.add(settle); // the server ended the connection: it quit
      return () => {
        this.#quitAnswer = undefined;
        this.#failures.delete(settle);
      };
    }, options);
    await this.#send(text);
    if (!await answered) {
      throw new EmError(
        "timeout",
        `Cannot quit "${this.#where}": no answer within ${options.timeoutMs} ms`,
      );
    }
    if (refusal !== undefined) throw refusal;
  }

  async flush(options: WaitOptions = {}): Promise<void> {
    if ((this.#server?.minor ?? 0) < 2) return await this.#socket.written; // 1.1 cannot answer
    const token = String(++this.#pingSeq);
    const answered = untilSettled((settle, fail) => {
      this.#pings.set(token, settle);
      this.#failures.add(fail);
      return () => {
        this.#pings.delete(token);
        this.#failures.delete(fail);
      };
    }, options);
    // both awaited at once: a failed send must not leave `answered`'s rejection unhandled
    const [, pong] = await Promise.all([
      this.#send(`${COMMANDS.PING}${token}\n`),
      answered,
    ]);
    if (!pong) {
      throw new EmError(
        "timeout",
        `Cannot flush to "${this.#where}": no answer within ${options.timeoutMs} ms`,
      );
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeGracefully();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #send(text: string): Promise<void> {
    return this.#socket.send(text);
  }

  /** Why the server's side ended: what its last `e` said, if it said anything. */
  #endReason(): EmError {
    return endReason(this.#where, {
      closing: this.#closing !== undefined,
      refusal: this.#refusal,
    });
  }

  #onLine(line: Uint8Array): boolean {
    if (line.length === 0) return true;
    const decoded = decodeMessage(line, this.#limits);
    if (!decoded.ok) {
      if (!decoded.closes) return true; // a message we cannot read is skipped, as the server does
      this.#fail(
        new EmError(
          "protocol",
          `Bad message from "${this.#where}": ${decoded.fault}`,
        ),
      );
      return false;
    }
    this.#onMessage(decoded.message);
    return this.#error === undefined;
  }

  #onMessage(message: Message): void {
    const { letter, params } = message.command;
    if (letter === COMMANDS.ERROR) {
      if (this.sync.onMessage(message)) return; // names a sync request: not about the connection
      const [code = "", text = "no reason given"] = params;
      if (this.#quitAnswer !== undefined && code === "refused") {
        const where = this.#where;
        return this.#quitAnswer(
          new EmError("refused", `Cannot quit "${where}": ${text}`),
        );
      }
      this.#refusal = { code: errorCode(code), text };
      if (!this.#ready) this.#fail(this.#endReason()); // a refused hello: nothing will follow
      return;
    }
    const waiter = this.#helloWaiter;
    if (
      waiter !== undefined &&
      (this.#server === undefined || letter === COMMANDS.HELLO)
    ) {
      this.#helloWaiter = undefined;
      if (this.#server === undefined && !this.#onServerHello(message)) return;
      return waiter.resolve(message);
    }
    if (letter === COMMANDS.TRIGGER && params.length === 1) {
      const name = params[0]!;
      this.#waits.push(name);
      this.data.onEvent(name, undefined);
    } else if (letter === COMMANDS.PING) {
      this.#pings.get(params[0] ?? "")?.();
    } else if (this.sync.onMessage(message)) {
      // a sync answer
    } else if (this.data.onMessage(letter, params)) {
      const name = params[0] ?? "";
      if (letter === DATA_COMMANDS.DATA && isValidName(name)) {
        this.#waits.push(name); // a data event is a trigger with data
      }
    }
  }

  /** Reads the server's first hello; false (after failing the connection) when it is bad. */
  #onServerHello(message: Message): boolean {
    const hello = readServerHello(message, this.#where);
    if (hello instanceof EmError) {
      this.#fail(hello);
      return false;
    }
    this.#server = hello;
    this.#agree(hello, message);
    return true;
  }

  #agree(hello: Hello, message: Message): void {
    const agreed = agreeOnHello(hello, message, this.#ourMaxMessage);
    if (agreed === undefined) return;
    this.#syncVersion = agreed.syncVersion;
    const max = agreed.maxLineBytes;
    this.#limits = { maxLineBytes: max, maxParamChars: max };
    this.#socket.framer.maxLineBytes = max;
  }

  #fail(error: EmError): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    this.data.fail(error);
    this.sync.fail(error);
    for (const fail of [...this.#failures]) fail(error);
    this.#failures.clear();
    this.#waits.fail(error);
    this.#socket.close();
    this.#resolveClosed(error);
  }

  async #closeGracefully(): Promise<void> {
    if (this.#error === undefined) await this.#socket.finish();
    this.#fail(new EmError("closed", `Connection to "${this.#where}" closed`));
    await this.#socket.reading;
  }
}

/** True for exactly `{ latch: <boolean> }`: trigger options, not data. */
function isTriggerOptions(value: unknown): value is TriggerOptions {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return false;
  }
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === "latch" &&
    typeof (value as { latch: unknown }).latch === "boolean";
}
