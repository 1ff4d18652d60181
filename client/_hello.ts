import {
  agreedMaxMessage,
  type Block,
  COMMANDS,
  EmError,
  type EmErrorCode,
  encodeMessage,
  FLAG_RECEIVE,
  type Hello,
  HELLO_OPTIONS,
  helloBlocks,
  isCompatible,
  MAX_LINE_BYTES,
  MAX_MESSAGE_OPTION,
  maxMessageOf,
  type Message,
  parseHello,
  PROTOCOL_VERSION,
  syncVersionOf,
} from "../protocol/line_codec.ts";
import { answerChallenge, checkConfirmation } from "./_auth.ts";

const ERROR_CODES: readonly EmErrorCode[] = ["protocol", "auth", "refused"];

/** The `EmError` code for a server's `e<code>`: its own if em knows it, else "refused". */
export function errorCode(code: string): EmErrorCode {
  return ERROR_CODES.find((known) => known === code) ?? "refused";
}

/** Reads a server's first hello: the hello, or why the client cannot talk to that server. */
export function readServerHello(
  message: Message,
  where: string,
): Hello | EmError {
  const hello = parseHello(message);
  if ("fault" in hello) {
    return new EmError("protocol", `Bad hello from "${where}": ${hello.fault}`);
  }
  if (!isCompatible(hello)) {
    return new EmError(
      "protocol",
      `Cannot talk to "${where}": it speaks protocol ${hello.major}.${hello.minor}`,
    );
  }
  return hello;
}

/** What the hello exchange needs from its client. */
export interface HelloHost {
  /** `host:port`, for messages. */
  readonly where: string;
  /** The shared secret's key, when the client has one. */
  readonly key: CryptoKey | undefined;
  /** Application name for the `a` option. */
  readonly appName: string | undefined;
  /** The message size agreed from the server's hello (above 4096 it is offered as option `m`). */
  maxLineBytes(): number;
  /** Ask to receive triggers (flag bit 1) right after the hello. */
  readonly receiving: boolean;
  /** The next hello from the server. */
  nextHello(): Promise<Message>;
  /** Queues text for the socket. */
  send(text: string): Promise<void>;
}

/** Exchanges hellos with the server (and proofs, with a secret). */
export async function exchangeHellos(host: HelloHost): Promise<void> {
  const { where } = host;
  const first = await host.nextHello();
  const answer = await answerChallenge(host.key, { hello: first, where });
  const options: Block[] = host.appName === undefined
    ? []
    : [{ letter: HELLO_OPTIONS.APP_NAME, params: [host.appName] }];
  if (host.maxLineBytes() > MAX_LINE_BYTES) {
    const max = String(host.maxLineBytes());
    options.push({ letter: MAX_MESSAGE_OPTION, params: [max] });
  }
  options.push(...answer?.options ?? []);
  const ours = helloBlocks(PROTOCOL_VERSION, options);
  let text = encodeMessage(ours.command, ours.options) + "\n";
  if (host.receiving) text += `${COMMANDS.FLAGS}${FLAG_RECEIVE}\n`;
  const confirmation = answer === undefined ? undefined : host.nextHello();
  await host.send(text);
  if (answer !== undefined) {
    checkConfirmation(await confirmation!, { answer, where });
  }
}

/** What a server's hello settles beyond its version. */
export interface Agreement {
  /** The sync version a 1.2 server offers, if any. */
  readonly syncVersion: string | undefined;
  /** The message size both sides accept. */
  readonly maxLineBytes: number;
}

/** What a 1.2 server's `hello` agrees with a client offering `ourMaxMessage`; 1.1 agrees nothing. */
export function agreeOnHello(
  hello: Hello,
  message: Message,
  ourMaxMessage: number,
): Agreement | undefined {
  if (hello.minor < 2) return undefined;
  return {
    syncVersion: syncVersionOf(message),
    maxLineBytes: agreedMaxMessage(ourMaxMessage, maxMessageOf(message)),
  };
}
