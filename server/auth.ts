import {
  AUTH_OPTIONS,
  authProof,
  type Block,
  importSecret,
  isNonce,
  isProof,
  type Message,
  newNonce,
  nonceOf,
  proofOf,
  proofsEqual,
} from "../protocol/mod.ts";

/** What the server tells a peer that failed to authenticate (`e` text). */
export const AUTH_REQUIRED =
  "Authentication required: connect with this server's shared secret";
/** What the server tells a peer whose proof was wrong or malformed (`e` text). */
export const AUTH_FAILED = "Authentication failed: wrong shared secret";

/** A checked client hello: the confirming hello option to send, or why it failed. */
export type AuthOutcome =
  | { readonly ok: true; readonly confirm: Block }
  | { readonly ok: false; readonly fault: string; readonly text: string };

/**
 * The server's side of the shared-secret handshake (docs/SECURITY.md): a fresh nonce in each
 * connection's hello, a check of the client's proof, and the server's own proof in return.
 */
export class Authenticator {
  #key: Promise<CryptoKey>;

  /** @throws {TypeError} for an empty secret */
  constructor(secret: string | Uint8Array) {
    this.#key = importSecret(secret);
  }

  /** Settles once the key is ready; rejects if the platform cannot make it. */
  get ready(): Promise<void> {
    return this.#key.then(() => {});
  }

  /** The hello option carrying a fresh nonce for one new connection. */
  challenge(): Block {
    return { letter: AUTH_OPTIONS.NONCE, params: [newNonce()] };
  }

  /** Checks a client's hello against the nonce sent to it, in constant time. */
  async check(serverNonce: string, hello: Message): Promise<AuthOutcome> {
    const clientNonce = nonceOf(hello);
    const proof = proofOf(hello);
    if (clientNonce === undefined && proof === undefined) {
      return refused("no proof in the hello", AUTH_REQUIRED);
    }
    if (!isNonce(clientNonce) || !isProof(proof)) {
      return refused("malformed nonce or proof in the hello", AUTH_FAILED);
    }
    if (clientNonce === serverNonce) {
      return refused("the client sent back our own nonce", AUTH_FAILED);
    }
    const key = await this.#key;
    const nonces = { serverNonce, clientNonce };
    const expected = await authProof(key, { role: "client", ...nonces });
    if (!proofsEqual(proof, expected)) {
      return refused("wrong proof (another secret)", AUTH_FAILED);
    }
    const ours = await authProof(key, { role: "server", ...nonces });
    return {
      ok: true,
      confirm: { letter: AUTH_OPTIONS.PROOF, params: [ours] },
    };
  }
}

function refused(fault: string, text: string): AuthOutcome {
  return { ok: false, fault: `Authentication failed: ${fault}`, text };
}
