/**
 * The connection behind the one-shot client (client/one_shot.ts, whose `connectOneShot` opens
 * it): reads lines, answers pings and `w` requests, waits, and closes.
 * @module
 */
import {
  COMMANDS,
  decodeMessage,
  EmError,
  encodeSyncRequest,
  type Hello,
  type Limits,
  MAX_LINE_BYTES,
  type Message,
  parseSyncReply,
} from "../protocol/line_codec.ts";
import { startUnrefTimer } from "./_deadline.ts";
import { agreeOnHello, errorCode, readServerHello } from "./_hello.ts";
import {
  endReason,
  type Refusal,
  syncError,
  unexpectedReply,
} from "./_replies.ts";
import type { OneShotClient, OneShotWaitOptions } from "./_one_shot_api.ts";
import { LineSocket } from "./_line_socket.ts";

/** The library client's default largest message from a 1.2 server (hello option `m`). */
const OUR_MAX_MESSAGE_BYTES = 512 * 1024;

/** The connection behind {@link OneShotClient}. */
export class Connection implements OneShotClient {
  readonly receiving: boolean;
  limits: Limits = { maxLineBytes: MAX_LINE_BYTES, maxParamChars: 255 };
  #socket: LineSocket;
  #where: string;
  #server: Hello | undefined;
  #syncVersion: string | undefined;
  /** The hellos are over: an `e` from now on no longer refuses the connection. */
  ready = false;
  #error: EmError | undefined;
  #refusal: Refusal | undefined;
  #closing: Promise<void> | undefined;
  #arrived: string[] = []; // triggers that came before the wait
  /** The names of {@link OneShotOptions.wait}, until the hello is sent. */
  firstWait: readonly string[] | undefined;
  #early:
    | { names: readonly string[]; answer: Promise<string | undefined> }
    | undefined;
  #hello: PromiseWithResolvers<Message> | undefined;
  #onReply = new Map<string, (message: Message) => void>(); // pings and `w`, by id
  #onTrigger: ((name: string) => void) | undefined;
  #failures = new Set<(error: EmError) => void>();
  #seq = 0;
  #lastPing: string | undefined; // the token of the last flush: its answer ends reading
  #sends = 0;
  #sendsAnswered = -1; // sends a pong has answered: all of them means nothing is left in flight

  constructor(conn: Deno.Conn, where: string, receiving: boolean) {
    this.#where = where;
    this.receiving = receiving;
    this.#socket = new LineSocket(conn, where, {
      onLine: (line) => this.#onLine(line),
      failure: () => this.#error,
      endReason: () =>
        endReason(where, {
          closing: this.#closing !== undefined,
          refusal: this.#refusal,
        }),
      fail: (error) => this.fail(error),
    });
  }

  nextHello(): Promise<Message> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    this.#hello = Promise.withResolvers<Message>();
    return this.#hello.promise;
  }

  /** Sends our hello, and the first wait's question with it when the server offers sync. */
  sendHello(text: string): Promise<void> {
    const names = this.firstWait;
    this.firstWait = undefined;
    if (names === undefined || this.#syncVersion === undefined) {
      return this.send(text);
    }
    let sent: Promise<void> | undefined; // the hello and the `w`, one write
    const answer = this.#confirmWait(names, (w) => sent = this.send(text + w));
    answer.catch(() => {}); // a failed hello fails the connection: that error is thrown
    this.#early = { names, answer };
    return sent ?? this.send(text);
  }

  trigger(name: string): Promise<void> {
    return this.send(`${COMMANDS.TRIGGER}${name}\n`);
  }

  async flush(
    options: { timeoutMs?: number; last?: boolean } = {},
  ): Promise<void> {
    if ((this.#server?.minor ?? 0) < 2) return await this.#socket.written; // 1.1 cannot answer
    const { timeoutMs = -1 } = options;
    const token = String(++this.#seq);
    if (options.last) this.#lastPing = token;
    const answered = this.#ask(token, `${COMMANDS.PING}${token}\n`, timeoutMs);
    const sends = this.#sends; // the ping's included
    if (await answered !== undefined) this.#sendsAnswered = sends;
    else {
      throw new EmError(
        "timeout",
        `Cannot flush to "${this.#where}": no answer within ${timeoutMs} ms`,
      );
    }
  }

  waitAny(
    names: readonly string[],
    timeoutMs: number,
    options: OneShotWaitOptions = {},
  ): Promise<string | null> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const early = this.#arrived.find((name) => names.includes(name));
    if (early !== undefined) {
      options.onReady?.();
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => {
      let answered = false, timedOut = false, ready = false, done = false;
      const cleanups: (() => void)[] = [];
      const end = (outcome: () => void): void => {
        if (done) return;
        done = true;
        for (const cleanup of cleanups.splice(0)) cleanup();
        outcome();
      };
      const callReady = (): void => {
        if (ready || done) return;
        ready = true;
        options.onReady?.();
      };
      const fired = (name: string): void => {
        callReady();
        end(() => resolve(name));
      };
      this.#onTrigger = (name) => {
        if (names.includes(name)) fired(name);
      };
      cleanups.push(() => this.#onTrigger = undefined);
      cleanups.push(this.#onFailure((error) => end(() => reject(error))));
      if (timeoutMs >= 0) {
        cleanups.push(startUnrefTimer(timeoutMs, () => {
          timedOut = true; // a timeout never ends the wait before the server's answer
          if (answered) end(() => resolve(null));
        }));
      }
      this.#answerTo(names).then((latched) => {
        if (latched !== undefined) return fired(latched);
        answered = true;
        callReady();
        if (timedOut) end(() => resolve(null));
      }, (error) => end(() => reject(error)));
    });
  }

  /** The answer to the question sent with the hello, if it was for `names`; else asks anew. */
  #answerTo(names: readonly string[]): Promise<string | undefined> {
    const early = this.#early;
    this.#early = undefined;
    const same = early !== undefined && early.names.length === names.length &&
      early.names.every((name, i) => name === names[i]);
    return same ? early.answer : this.#confirmWait(names);
  }

  /**
   * Sends `w` (a server with sync: with `send`, which sends it at once) or a round trip; resolves
   * with a latched name, if any.
   */
  async #confirmWait(
    names: readonly string[],
    send?: (text: string) => Promise<void>,
  ): Promise<string | undefined> {
    if (this.#syncVersion === undefined) return void await this.flush();
    const id = `s${++this.#seq}`;
    const text = encodeSyncRequest({ kind: "wait", id, names }) + "\n";
    const message = await this.#ask(id, text, -1, send);
    const reply = parseSyncReply(message!)!;
    if (reply.kind === "latched") return reply.name;
    if (reply.kind === "ok") return undefined;
    throw reply.kind === "error" ? syncError(reply) : unexpectedReply(reply);
  }

  /** Sends `text` and resolves with the answer naming `id`, or undefined after `timeoutMs`. */
  #ask(
    id: string,
    text: string,
    timeoutMs: number,
    send = (text: string): Promise<void> => this.send(text),
  ): Promise<Message | undefined> {
    if (this.#socket.stopped) {
      return Promise.reject(
        new TypeError(
          `Cannot ask "${this.#where}" anything after the last flush`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const cleanups: (() => void)[] = [() => this.#onReply.delete(id)];
      let done = false;
      const end = (outcome: () => void): void => {
        if (done) return;
        done = true;
        for (const cleanup of cleanups.splice(0)) cleanup();
        outcome();
      };
      this.#onReply.set(id, (message) => end(() => resolve(message)));
      cleanups.push(this.#onFailure((error) => end(() => reject(error))));
      if (timeoutMs >= 0) {
        cleanups.push(
          startUnrefTimer(timeoutMs, () => end(() => resolve(undefined))),
        );
      }
      send(text).catch((error) => end(() => reject(error)));
    });
  }

  #onFailure(listener: (error: EmError) => void): () => void {
    if (this.#error !== undefined) {
      listener(this.#error);
      return () => {};
    }
    this.#failures.add(listener);
    return () => this.#failures.delete(listener);
  }

  send(text: string): Promise<void> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    this.#sends++;
    return this.#socket.send(text);
  }

  #onLine(line: Uint8Array): void {
    if (line.length === 0 || this.#error !== undefined) return;
    const decoded = decodeMessage(line, this.limits);
    if (decoded.ok) return this.#onMessage(decoded.message);
    if (!decoded.closes) return; // a message we cannot read is skipped, as the server does
    this.fail(
      new EmError(
        "protocol",
        `Bad message from "${this.#where}": ${decoded.fault}`,
      ),
    );
  }

  #onMessage(message: Message): void {
    const { letter, params } = message.command;
    if (letter === COMMANDS.ERROR) {
      const reply = parseSyncReply(message);
      if (reply !== undefined) return this.#onReply.get(reply.id)?.(message);
      const [code = "", text = "no reason given"] = params;
      this.#refusal = { code: errorCode(code), text };
      if (!this.ready) {
        this.fail(endReason(this.#where, {
          closing: false,
          refusal: this.#refusal,
        })); // a refused hello: nothing will follow
      }
      return;
    }
    const hello = this.#hello;
    if (
      hello !== undefined &&
      (this.#server === undefined || letter === COMMANDS.HELLO)
    ) {
      if (this.#server === undefined && !this.#onServerHello(message)) return; // failed it
      this.#hello = undefined;
      return hello.resolve(message);
    }
    if (letter === COMMANDS.TRIGGER && params.length === 1) {
      if (this.#onTrigger === undefined) this.#arrived.push(params[0]!);
      else this.#onTrigger(params[0]!);
    } else if (letter === COMMANDS.PING) {
      const token = params[0] ?? "";
      if (token === this.#lastPing) this.#socket.stopReading();
      this.#onReply.get(token)?.(message);
    } else {
      const reply = parseSyncReply(message);
      if (reply !== undefined) this.#onReply.get(reply.id)?.(message);
    }
  }

  #onServerHello(message: Message): boolean {
    const hello = readServerHello(message, this.#where);
    if (hello instanceof EmError) {
      this.fail(hello);
      return false;
    }
    this.#server = hello;
    const agreed = agreeOnHello(hello, message, OUR_MAX_MESSAGE_BYTES);
    if (agreed === undefined) return true;
    this.#syncVersion = agreed.syncVersion;
    const max = agreed.maxLineBytes;
    this.limits = { maxLineBytes: max, maxParamChars: max };
    this.#socket.framer.maxLineBytes = max;
    return true;
  }

  fail(error: EmError): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    this.#hello?.reject(error);
    this.#hello = undefined;
    for (const fail of [...this.#failures]) fail(error);
    this.#failures.clear();
    this.#socket.close();
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeGracefully();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Closes at once when the server has answered everything we sent and will send nothing more
   * ({@link Connection.#settle}): it has read all of it, and waiting for its end gains nothing.
   * Otherwise lets the server see our end, read all we sent and close first, as `connect()`'s
   * client does.
   */
  async #closeGracefully(): Promise<void> {
    if (this.#error === undefined && !(await this.#settle())) {
      await this.#socket.finish();
    }
    this.fail(new EmError("closed", `Connection to "${this.#where}" closed`));
    await this.#socket.reading;
  }

  /**
   * Whether nothing more will come: a client that does not receive, once every send is answered;
   * a receiving one on a 1.2 server once it has said `F0` (receive nothing) and a last ping is
   * answered, or not within the 2 s that {@link LineSocket.finish} allows (a close then reads
   * nothing, and cancels no read: about 0.3 ms less than waiting for the server's end).
   */
  async #settle(): Promise<boolean> {
    if (!this.receiving) return this.#sendsAnswered === this.#sends;
    if ((this.#server?.minor ?? 0) < 2) return false;
    this.send(`${COMMANDS.FLAGS}0\n`).catch(() => {}); // a failure fails the flush too
    await this.flush({ timeoutMs: 2_000, last: true }).catch(() => {});
    return true;
  }
}
