import { findOption, type Message } from "./message.ts";

/**
 * Hello options of the shared-secret handshake (1.2, lower case, so a 1.1 peer ignores them).
 * See docs/SECURITY.md for the exchange.
 */
export const AUTH_OPTIONS = Object.freeze({
  /** A fresh random nonce: in the server's first hello, and in the client's hello. */
  NONCE: "n",
  /** An HMAC-SHA256 proof: in the client's hello, and in the server's second (confirming) hello. */
  PROOF: "h",
});

/** Random bytes in a nonce (sent as twice as many lower-case hex digits). */
export const NONCE_BYTES = 32;

/** Who computes a proof: binding the role in keeps a proof from being reflected to its sender. */
export type AuthRole = "client" | "server";

/** What a proof is computed over, besides the role. */
export interface ProofInput {
  /** Which side proves. */
  readonly role: AuthRole;
  /** The nonce from the server's hello. */
  readonly serverNonce: string;
  /** The nonce from the client's hello. */
  readonly clientNonce: string;
}

const HEX = /^[0-9a-f]+$/;
const PROOF_BYTES = 32; // SHA-256
const encoder = new TextEncoder();

/** A fresh random nonce, `NONCE_BYTES` bytes from the platform's secure random source, as hex. */
export function newNonce(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));
}

/** True for a well-formed nonce: exactly `NONCE_BYTES` bytes of lower-case hex. */
export function isNonce(text: string | undefined): text is string {
  return text !== undefined && text.length === NONCE_BYTES * 2 &&
    HEX.test(text);
}

/** True for a well-formed proof: 32 bytes of lower-case hex. */
export function isProof(text: string | undefined): text is string {
  return text !== undefined && text.length === PROOF_BYTES * 2 &&
    HEX.test(text);
}

/** The `n` option of a hello, if any. */
export function nonceOf(hello: Message): string | undefined {
  return findOption(hello, AUTH_OPTIONS.NONCE)?.params[0];
}

/** The `h` option of a hello, if any. */
export function proofOf(hello: Message): string | undefined {
  return findOption(hello, AUTH_OPTIONS.PROOF)?.params[0];
}

/**
 * Makes the HMAC-SHA256 key of a shared secret (its UTF-8 bytes).
 * @throws {TypeError} for an empty secret
 */
export function importSecret(secret: string | Uint8Array): Promise<CryptoKey> {
  const bytes = typeof secret === "string" ? encoder.encode(secret) : secret;
  if (bytes.length === 0) throw new TypeError("Invalid secret: it is empty");
  return crypto.subtle.importKey(
    "raw",
    bytes as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

/**
 * The proof that `role` knows the secret behind `key`: HMAC-SHA256 over
 * `em-auth-1 <role> <serverNonce> <clientNonce>`, as lower-case hex.
 */
export async function authProof(
  key: CryptoKey,
  input: ProofInput,
): Promise<string> {
  const text =
    `em-auth-1 ${input.role} ${input.serverNonce} ${input.clientNonce}`;
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(text));
  return toHex(new Uint8Array(mac));
}

/**
 * Compares a received proof with the expected one in time that does not depend on where they
 * differ (only on their lengths, which are public).
 */
export function proofsEqual(received: string, expected: string): boolean {
  if (received.length !== expected.length) return false;
  let difference = 0;
  for (let i = 0; i < expected.length; i++) {
    difference |= received.charCodeAt(i) ^ expected.charCodeAt(i);
  }
  return difference === 0;
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
