import { EmError } from "./em_error.ts";

/** Largest HTTP request head (request line and headers, blank line included). */
export const MAX_HTTP_HEAD_BYTES = 16 * 1024;
/** Most header lines in one request head. */
export const MAX_HTTP_HEADERS = 100;

/** A parsed HTTP/1.x request head. */
export interface HttpHead {
  /** The method, e.g. `"GET"`. */
  readonly method: string;
  /** The request target as sent, e.g. `"/api?token=x"`. */
  readonly target: string;
  /** The minor version: 1 for HTTP/1.1, 0 for HTTP/1.0. */
  readonly minor: 0 | 1;
  /** Header fields in order, names lower-cased, values trimmed. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

const CR = 0x0d, LF = 0x0a;
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.([01])$/;
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/;
const latin1 = new TextDecoder("latin1");

/**
 * Collects an HTTP/1.x request head from chunks and parses it; what follows the head (e.g. the
 * first WebSocket frames of an eager client) is handed back untouched.
 */
export class HttpHeadReader {
  #carry = new Uint8Array(0);
  #maxBytes: number;

  /** @param maxBytes the largest head accepted */
  constructor(maxBytes: number = MAX_HTTP_HEAD_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Adds a chunk.
   * @returns the head and the bytes after it once the blank line arrived, else undefined
   * @throws {EmError} code "protocol" for a malformed head or one over the size limit
   */
  push(chunk: Uint8Array): { head: HttpHead; rest: Uint8Array } | undefined {
    const from = Math.max(0, this.#carry.length - 3);
    const bytes = this.#carry.length === 0 ? chunk : concat(this.#carry, chunk);
    const end = findHeadEnd(bytes, from);
    if (end === -1) {
      if (bytes.length > this.#maxBytes) throw tooLarge(this.#maxBytes);
      this.#carry = bytes.slice();
      return undefined;
    }
    if (end > this.#maxBytes) throw tooLarge(this.#maxBytes);
    this.#carry = new Uint8Array(0);
    const head = parseHttpHead(latin1.decode(bytes.subarray(0, end)));
    return { head, rest: bytes.slice(end) };
  }
}

/**
 * Parses a request head (without the final blank line's bytes mattering).
 * @throws {EmError} code "protocol" for a malformed request line or header
 */
export function parseHttpHead(text: string): HttpHead {
  const lines = text.split("\r\n");
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const request = REQUEST_LINE.exec(lines[0] ?? "");
  if (request === null) {
    throw new EmError(
      "protocol",
      `Cannot read HTTP request line "${(lines[0] ?? "").slice(0, 80)}"`,
    );
  }
  if (lines.length - 1 > MAX_HTTP_HEADERS) {
    throw new EmError(
      "protocol",
      `Cannot read HTTP request: over ${MAX_HTTP_HEADERS} header lines`,
    );
  }
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const field = HEADER_LINE.exec(line);
    if (field === null) {
      throw new EmError(
        "protocol",
        `Cannot read HTTP header line "${line.slice(0, 80)}"`,
      );
    }
    headers.push([field[1]!.toLowerCase(), field[2]!]);
  }
  return {
    method: request[1]!,
    target: request[2]!,
    minor: request[3] === "1" ? 1 : 0,
    headers,
  };
}

/** The value of a header (several fields joined with ", "), or undefined. */
export function headerValue(head: HttpHead, name: string): string | undefined {
  const lower = name.toLowerCase();
  const values = head.headers.filter(([n]) => n === lower).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(", ");
}

/** True when a comma-separated header lists `token` (case-insensitive), e.g. `Connection: keep-alive, Upgrade`. */
export function headerHasToken(
  head: HttpHead,
  name: string,
  token: string,
): boolean {
  const value = headerValue(head, name);
  if (value === undefined) return false;
  const wanted = token.toLowerCase();
  return value.split(",").some((part) => part.trim().toLowerCase() === wanted);
}

/** The index just past the first `\r\n\r\n` at or after `from`, or -1. */
function findHeadEnd(bytes: Uint8Array, from: number): number {
  for (
    let i = bytes.indexOf(CR, from);
    i !== -1;
    i = bytes.indexOf(CR, i + 1)
  ) {
    if (bytes[i + 1] === LF && bytes[i + 2] === CR && bytes[i + 3] === LF) {
      return i + 4;
    }
  }
  return -1;
}

function tooLarge(maxBytes: number): EmError {
  return new EmError(
    "protocol",
    `Cannot read HTTP request: head over ${maxBytes} bytes`,
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(a.length + b.length);
  bytes.set(a);
  bytes.set(b, a.length);
  return bytes;
}
