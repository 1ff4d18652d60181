import { EmError } from "./em_error.ts";

/** WebSocket opcodes (RFC 6455 section 5.2). */
export const WS_OPCODES = Object.freeze({
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
});

/** WebSocket close codes em sends (RFC 6455 section 7.4.1). */
export const WS_CLOSE = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  INVALID_DATA: 1007,
  POLICY: 1008,
  TOO_BIG: 1009,
});

/** The GUID RFC 6455 appends to `Sec-WebSocket-Key` before hashing it into the accept value. */
export const WS_ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** A peer broke the WebSocket framing: the connection must be closed with {@link closeCode}. */
export class WsFrameError extends EmError {
  /** The close code to send: 1002 protocol error, 1009 too big. */
  readonly closeCode: number;
  /**
   * @param closeCode the close code to send
   * @param message what went wrong
   */
  constructor(closeCode: number, message: string) {
    super("protocol", message);
    this.name = "WsFrameError";
    this.closeCode = closeCode;
  }
}

/**
 * Splits a byte stream into WebSocket messages: unmasks masked frames (and, against RFC 6455 but
 * as AGL's clients send them, accepts unmasked ones), joins fragments, checks every limit before
 * buffering. Control frames (close, ping, pong) are handed out as they arrive, even between the
 * fragments of a message.
 */
export class WsFrameDecoder {
  #carry = new Uint8Array(0);
  #maxMessageBytes: number;
  #fragments: Uint8Array[] | undefined; // a fragmented message being joined
  #fragmentsOpcode = 0;
  #fragmentsBytes = 0;

  /** @param maxMessageBytes the largest message payload accepted (joined fragments included) */
  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Bytes of a message or frame begun and not yet complete. */
  get pendingBytes(): number {
    return this.#carry.length + this.#fragmentsBytes;
  }

  /**
   * Adds a chunk; calls `onMessage` per complete message or control frame. `chunk` is never
   * changed: a masked payload (every frame a client sends) is unmasked into a new array, or into
   * the decoder's own copy of bytes carried over from an earlier chunk. An unmasked payload is a
   * view into `chunk` when it arrived whole in it (copy it to keep it).
   * @throws {WsFrameError} for a framing fault or a message over the limit
   */
  push(
    chunk: Uint8Array,
    onMessage: (opcode: number, payload: Uint8Array) => void,
  ): void {
    const owned = this.#carry.length !== 0; // bytes joined here may be unmasked in place
    let bytes = owned
      ? joinAll([this.#carry, chunk], this.#carry.length + chunk.length)
      : chunk;
    for (;;) {
      const frame = this.#readFrame(bytes, owned);
      if (frame === undefined) break;
      bytes = bytes.subarray(frame.size);
      this.#onFrame(frame, onMessage);
    }
    this.#carry = bytes.length === 0 ? new Uint8Array(0) : bytes.slice();
  }

  /** One frame from the start of `bytes`, or undefined when it is not all there yet. */
  #readFrame(bytes: Uint8Array, owned: boolean): Frame | undefined {
    if (bytes.length < 2) return undefined;
    const b0 = bytes[0]!, b1 = bytes[1]!;
    if ((b0 & 0x70) !== 0) {
      throw new WsFrameError(WS_CLOSE.PROTOCOL_ERROR, "reserved bits set");
    }
    const fin = (b0 & 0x80) !== 0, opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f, offset = 2;
    if (length === 126) {
      if (bytes.length < 4) return undefined;
      length = (bytes[2]! << 8) | bytes[3]!;
      offset = 4;
    } else if (length === 127) {
      if (bytes.length < 10) return undefined;
      const view = new DataView(bytes.buffer, bytes.byteOffset + 2, 8);
      length = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
      offset = 10;
    }
    this.#checkFrame(opcode, fin, length);
    const maskAt = offset;
    if (masked) offset += 4;
    if (bytes.length < offset + length) return undefined;
    let payload = bytes.subarray(offset, offset + length);
    if (masked) {
      const into = owned ? payload : new Uint8Array(length);
      payload = unmask(payload, bytes.subarray(maskAt, maskAt + 4), into);
    }
    return { fin, opcode, payload, size: offset + length };
  }

  #checkFrame(opcode: number, fin: boolean, length: number): void {
    if (opcode >= 0x8) {
      if (opcode > WS_OPCODES.PONG) throw unknownOpcode(opcode);
      if (!fin || length > 125) {
        throw new WsFrameError(
          WS_CLOSE.PROTOCOL_ERROR,
          "fragmented or over-long control frame",
        );
      }
      return;
    }
    if (opcode > WS_OPCODES.BINARY) throw unknownOpcode(opcode);
    const inMessage = this.#fragments !== undefined;
    if (opcode === WS_OPCODES.CONTINUATION && !inMessage) {
      throw new WsFrameError(
        WS_CLOSE.PROTOCOL_ERROR,
        "continuation frame without a message to continue",
      );
    }
    if (opcode !== WS_OPCODES.CONTINUATION && inMessage) {
      throw new WsFrameError(
        WS_CLOSE.PROTOCOL_ERROR,
        "new message before the fragmented one ended",
      );
    }
    if (this.#fragmentsBytes + length > this.#maxMessageBytes) {
      throw new WsFrameError(
        WS_CLOSE.TOO_BIG,
        `message over ${this.#maxMessageBytes} bytes`,
      );
    }
  }

  #onFrame(
    frame: Frame,
    onMessage: (opcode: number, payload: Uint8Array) => void,
  ): void {
    const { fin, opcode, payload } = frame;
    if (opcode >= 0x8 || (fin && this.#fragments === undefined)) {
      return onMessage(opcode, payload);
    }
    if (this.#fragments === undefined) {
      this.#fragments = [];
      this.#fragmentsOpcode = opcode;
    }
    this.#fragments.push(payload.slice());
    this.#fragmentsBytes += payload.length;
    if (!fin) return;
    const whole = joinAll(this.#fragments, this.#fragmentsBytes);
    const first = this.#fragmentsOpcode;
    this.#fragments = undefined;
    this.#fragmentsBytes = 0;
    onMessage(first, whole);
  }
}

interface Frame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Uint8Array;
  readonly size: number;
}

/**
 * Encodes one unfragmented frame as a server sends it: final, unmasked.
 * @throws {RangeError} for a control frame over 125 bytes
 */
export function encodeWsFrame(opcode: number, payload: Uint8Array): Uint8Array {
  return encodeFrame(opcode, payload, undefined);
}

/**
 * Encodes one unfragmented frame as a browser sends it: final, masked with `mask` (4 bytes).
 * @throws {RangeError} for a mask that is not 4 bytes or an over-long control frame
 */
export function encodeMaskedWsFrame(
  opcode: number,
  payload: Uint8Array,
  mask: Uint8Array,
): Uint8Array {
  if (mask.length !== 4) throw new RangeError("Invalid mask: use 4 bytes");
  return encodeFrame(opcode, payload, mask);
}

/** A close frame's payload: the code, then the reason (cut to fit 125 bytes). */
export function wsClosePayload(code: number, reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason).subarray(0, 123);
  const payload = new Uint8Array(2 + text.length);
  payload[0] = code >> 8;
  payload[1] = code & 0xff;
  payload.set(text, 2);
  return payload;
}

function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  mask: Uint8Array | undefined,
): Uint8Array {
  const length = payload.length;
  if (opcode >= 0x8 && length > 125) {
    throw new RangeError(`Invalid control frame: ${length} bytes, over 125`);
  }
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const maskBytes = mask === undefined ? 0 : 4;
  const frame = new Uint8Array(2 + extra + maskBytes + length);
  frame[0] = 0x80 | opcode;
  frame[1] = (maskBytes ? 0x80 : 0) |
    (extra === 0 ? length : extra === 2 ? 126 : 127);
  if (extra === 2) {
    frame[2] = length >> 8;
    frame[3] = length & 0xff;
  } else if (extra === 8) {
    const high = Math.floor(length / 2 ** 32), low = length >>> 0;
    new DataView(frame.buffer).setUint32(2, high);
    new DataView(frame.buffer).setUint32(6, low);
  }
  const at = 2 + extra + maskBytes;
  if (mask === undefined) frame.set(payload, at);
  else {
    frame.set(mask, 2 + extra);
    unmask(payload, mask, frame.subarray(at)); // masked straight into the frame
  }
  return frame;
}

/** XORs `payload` in place with the 4-byte mask (masking and unmasking are the same). */
/** Writes `payload` XOR `mask` into `into` (which may be `payload` itself) and returns it. */
function unmask(
  payload: Uint8Array,
  mask: Uint8Array,
  into: Uint8Array,
): Uint8Array {
  const m0 = mask[0]!, m1 = mask[1]!, m2 = mask[2]!, m3 = mask[3]!;
  const n = payload.length, whole = n - (n % 4);
  for (let i = 0; i < whole; i += 4) {
    into[i] = payload[i]! ^ m0;
    into[i + 1] = payload[i + 1]! ^ m1;
    into[i + 2] = payload[i + 2]! ^ m2;
    into[i + 3] = payload[i + 3]! ^ m3;
  }
  for (let i = whole; i < n; i++) into[i] = payload[i]! ^ mask[i % 4]!;
  return into;
}

function unknownOpcode(opcode: number): WsFrameError {
  return new WsFrameError(
    WS_CLOSE.PROTOCOL_ERROR,
    `unknown opcode 0x${opcode.toString(16)}`,
  );
}

function joinAll(parts: Uint8Array[], length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}
