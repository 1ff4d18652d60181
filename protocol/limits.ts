/** Protocol version this codec speaks when sending a hello. */
export const PROTOCOL_VERSION = "1.2";
/** Major version: a peer with another major version is incompatible. */
export const PROTOCOL_MAJOR = 1;
/** Protocol versions em speaks, oldest first. */
export const PROTOCOL_VERSIONS: readonly string[] = ["1.1", "1.2"];
/** Largest message in bytes, counting its line end (protocol 1.1). */
export const MAX_LINE_BYTES = 4096;
/** Largest parameter in characters as sent (an escape `\xHH` counts 4). */
export const MAX_PARAM_CHARS = 255;

/** Size limits a decoder enforces; 1.2 peers may negotiate larger ones. */
export interface Limits {
  /**
   * Largest message in bytes including its line end.
   * @default {4096}
   */
  readonly maxLineBytes: number;
  /**
   * Largest parameter in characters as sent.
   * @default {255}
   */
  readonly maxParamChars: number;
}

/** The protocol 1.1 limits. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxLineBytes: MAX_LINE_BYTES,
  maxParamChars: MAX_PARAM_CHARS,
});
