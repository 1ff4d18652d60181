import {
  AUTH_OPTIONS,
  authProof,
  type Block,
  EmError,
  isNonce,
  type Message,
  newNonce,
  nonceOf,
  proofOf,
  proofsEqual,
} from "../protocol/line_codec.ts";

/** Our answer to a server's challenge: the hello options to send, and the proof to expect back. */
export interface ChallengeAnswer {
  /** `n<our nonce>` and `h<our proof>`, for our hello. */
  readonly options: readonly Block[];
  /** The proof the server must send back in its confirming hello. */
  readonly serverProof: string;
}

/**
 * Answers the challenge in a server's hello (docs/SECURITY.md). Without a key and without a
 * challenge there is nothing to do (undefined).
 * @throws {EmError} code "auth" when only one side has a secret
 */
export async function answerChallenge(
  key: CryptoKey | undefined,
  context: { readonly hello: Message; readonly where: string },
): Promise<ChallengeAnswer | undefined> {
  const serverNonce = nonceOf(context.hello);
  if (key === undefined && serverNonce === undefined) return undefined;
  if (key === undefined) {
    throw new EmError(
      "auth",
      `Cannot connect to "${context.where}": the server requires a shared secret (give one: --secret-file or EM_SECRET)`,
    );
  }
  if (!isNonce(serverNonce)) {
    throw new EmError(
      "auth",
      serverNonce === undefined
        ? `Cannot authenticate "${context.where}": it does not ask for a shared secret, so it cannot prove it knows ours`
        : `Cannot authenticate "${context.where}": malformed nonce in its hello`,
    );
  }
  const clientNonce = newNonce();
  const nonces = { serverNonce, clientNonce };
  const [ours, theirs] = await Promise.all([
    authProof(key, { role: "client", ...nonces }),
    authProof(key, { role: "server", ...nonces }),
  ]);
  return {
    options: [
      { letter: AUTH_OPTIONS.NONCE, params: [clientNonce] },
      { letter: AUTH_OPTIONS.PROOF, params: [ours] },
    ],
    serverProof: theirs,
  };
}

/**
 * Checks the server's confirming hello, in constant time.
 * @throws {EmError} code "auth" when its proof is missing or wrong
 */
export function checkConfirmation(
  confirmation: Message,
  context: { readonly answer: ChallengeAnswer; readonly where: string },
): void {
  const proof = proofOf(confirmation) ?? "";
  if (!proofsEqual(proof, context.answer.serverProof)) {
    throw new EmError(
      "auth",
      `Cannot authenticate "${context.where}": its proof is wrong (it does not know the shared secret)`,
    );
  }
}
