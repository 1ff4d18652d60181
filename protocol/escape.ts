const BACKSLASH = 0x5c;
const HEX = "0123456789ABCDEF";
/** Up to this many bytes, {@link latin1} makes its string in one call. */
const SHORT_RUN = 256;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** True for a byte that may travel unescaped in a parameter: printable ASCII but `;` `,` `\`. */
export function isParamByte(byte: number): boolean {
  return byte >= 0x20 && byte <= 0x7e && byte !== 0x3b && byte !== 0x2c &&
    byte !== BACKSLASH;
}

/** Escapes any bytes as parameter text: allowed bytes as they are, others as `\xHH`. */
export function escapeBytes(bytes: Uint8Array): string {
  let text = "";
  let runStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (isParamByte(byte)) continue;
    if (runStart < i) text += latin1(bytes.subarray(runStart, i));
    text += "\\x" + HEX[byte >> 4] + HEX[byte & 15];
    runStart = i + 1;
  }
  return runStart === 0
    ? latin1(bytes)
    : text + latin1(bytes.subarray(runStart));
}

/** Encodes a string as parameter text: UTF-8, then {@link escapeBytes}. */
export function encodeParam(value: string): string {
  for (let i = 0; i < value.length; i++) {
    if (!isParamByte(value.charCodeAt(i))) {
      return escapeBytes(utf8Encoder.encode(value));
    }
  }
  return value; // the common case: nothing to escape
}

/** Undoes {@link escapeBytes}; returns a fault text for a bad escape or a bad byte. */
export function unescapeBytes(text: Uint8Array): Uint8Array | string {
  if (text.indexOf(BACKSLASH) === -1) return checkBytes(text) ?? text;
  const out = new Uint8Array(text.length);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const byte = text[i]!;
    if (byte !== BACKSLASH) {
      if (!isParamByte(byte)) return badByte(byte, i);
      out[length++] = byte;
      continue;
    }
    const high = hexValue(text[i + 2]), low = hexValue(text[i + 3]);
    if (text[i + 1] !== 0x78 || high < 0 || low < 0) {
      return `bad escape at offset ${i}: expected \\xHH`;
    }
    out[length++] = high * 16 + low;
    i += 3;
  }
  return out.subarray(0, length);
}

/** Undoes {@link encodeParam}; returns a fault text for a bad escape or invalid UTF-8. */
export function decodeParam(text: Uint8Array): string | { fault: string } {
  if (text.indexOf(BACKSLASH) === -1) { // the common case: printable ASCII as it is
    const fault = checkBytes(text);
    return fault === undefined ? latin1(text) : { fault };
  }
  const bytes = unescapeBytes(text);
  if (typeof bytes === "string") return { fault: bytes };
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return { fault: "escaped bytes are not valid UTF-8" };
  }
}

function checkBytes(text: Uint8Array): string | undefined {
  for (let i = 0; i < text.length; i++) {
    if (!isParamByte(text[i]!)) return badByte(text[i]!, i);
  }
  return undefined;
}

function badByte(byte: number, offset: number): string {
  return `byte 0x${HEX[byte >> 4]}${
    HEX[byte & 15]
  } at offset ${offset} must be escaped`;
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/** The bytes as characters U+0000–U+00FF; short runs without a TextDecoder call (an op in Deno). */
function latin1(bytes: Uint8Array): string {
  if (bytes.length <= SHORT_RUN) {
    return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}
