import {
  type Block,
  encodeMessage,
  helloBlocks,
  PROTOCOL_VERSION,
} from "../protocol/mod.ts";
import type { Authenticator } from "./auth.ts";
import type { Session } from "./session.ts";

const encoder = new TextEncoder();

/** The server's hello line: encoded once, or with a fresh nonce per session when a secret is set. */
export class Greeting {
  #hello: Uint8Array;
  #helloBlocks: ReturnType<typeof helloBlocks>;
  #auth: Authenticator | undefined;

  constructor(options: Block[], auth: Authenticator | undefined) {
    this.#auth = auth;
    const hello = this.#helloBlocks = helloBlocks(PROTOCOL_VERSION, options);
    this.#hello = encoder.encode(
      encodeMessage(hello.command, hello.options) + "\n",
    );
  }

  /** The hello for a new session: shared bytes, or with a fresh nonce when a secret is set. */
  for(session: Session): Uint8Array {
    if (this.#auth === undefined) return this.#hello;
    const challenge = this.#auth.challenge();
    session.challenge = challenge.params[0];
    const { command, options } = this.#helloBlocks;
    return encoder.encode(
      encodeMessage(command, [...options, challenge]) + "\n",
    );
  }
}
