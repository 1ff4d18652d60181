// What `deno task fuzz` fuzzes. A target makes case `index` of a seed (JSON, so a failing case can
// be saved and replayed), checks it (a failure is a message), and offers smaller variants of a
// failing case for minimising. Targets: the codec (line framing, message and hello decoding, the
// WebSocket frame decoder, x-afb-ws-json1 messages), the sync state machine (semaphores against
// the reference model) and the server over TCP (tests/fuzz/_server_target.ts).
import {
  decodeAfbMessage,
  decodeMessage,
  DEFAULT_LIMITS,
  EmError,
  encodeMaskedWsFrame,
  LineFramer,
  MAX_LINE_BYTES,
  parseHello,
  WS_OPCODES,
  WsFrameDecoder,
  WsFrameError,
} from "../../protocol/mod.ts";
import {
  caseRandom,
  CORPUS,
  fuzzCase,
  mutate,
  type Random,
  type Sent,
} from "../server/_fuzz_cases.ts";
import { check, CLIENTS, type Op } from "../server/sync/_semaphore_check.ts";

/** A byte stream and where it is cut into pieces. */
export interface StreamCase {
  readonly bytes: number[];
  readonly cuts: number[];
}

/** One fuzz target. */
export interface Target<C> {
  readonly name: string;
  /** Case `index` of run `seed`: the same pair always gives the same case. */
  make(seed: number, index: number): C;
  /** Undefined when the case passes, else what went wrong. */
  check(c: C): Promise<string | undefined> | string | undefined;
  /** Smaller variants of a failing case, most reduced first. */
  shrink(c: C): Iterable<C>;
}

const sent = (): Sent => ({ random: 0, mutated: 0, bytes: 0, readToEnd: 0 });

/** Stream cases: random bytes or mutated valid sessions (as the server fuzz test makes them). */
export function makeStream(seed: number, index: number): StreamCase {
  const rnd = caseRandom(seed, index);
  if (rnd() < 0.2) return wsStream(rnd);
  const { bytes, cuts } = fuzzCase(rnd, CORPUS, sent());
  return { bytes: [...bytes], cuts };
}

/** Masked WebSocket frames carrying the corpus' lines, then mutated. */
function wsStream(rnd: Random): StreamCase {
  const lines = CORPUS[Math.floor(rnd() * CORPUS.length)]!.split("\n");
  const frames = lines.map((line) => {
    const opcode = rnd() < 0.8 ? WS_OPCODES.TEXT : Math.floor(rnd() * 16);
    const payload = new TextEncoder().encode(line);
    const mask = Uint8Array.from({ length: 4 }, () => Math.floor(rnd() * 256));
    // control frames (8 and up) carry at most 125 bytes
    return encodeMaskedWsFrame(
      opcode,
      payload.subarray(0, opcode >= 8 ? 125 : undefined),
      mask,
    );
  });
  const joined = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let offset = 0;
  for (const frame of frames) {
    joined.set(frame, offset);
    offset += frame.length;
  }
  const bytes = rnd() < 0.2 ? joined : mutate(rnd, joined);
  const cuts = Array.from(
    { length: Math.floor(rnd() * 5) },
    () => Math.floor(rnd() * (bytes.length + 1)),
  ).sort((a, b) => a - b);
  return { bytes: [...bytes], cuts };
}

/** Smaller streams: halves, then ever smaller runs of bytes removed; cuts kept in range. */
export function* shrinkStream(c: StreamCase): Iterable<StreamCase> {
  if (c.cuts.length > 0) yield { bytes: c.bytes, cuts: [] };
  for (let size = c.bytes.length >> 1; size >= 1; size >>= 1) {
    for (let at = 0; at + size <= c.bytes.length; at += size) {
      const bytes = [...c.bytes.slice(0, at), ...c.bytes.slice(at + size)];
      yield { bytes, cuts: c.cuts.map((cut) => Math.min(cut, bytes.length)) };
    }
  }
}

function pieces(c: StreamCase, bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...c.cuts, bytes.length]) {
    out.push(bytes.subarray(start, Math.max(start, cut)));
    start = Math.max(start, cut);
  }
  return out;
}

/** Frames the pieces; returns the lines and the error, if any (anything but EmError is a failure). */
function frameLines(parts: Uint8Array[]): { lines: string[]; error?: string } {
  const framer = new LineFramer(MAX_LINE_BYTES);
  const lines: string[] = [];
  const latin1 = new TextDecoder("latin1");
  try {
    for (const part of parts) {
      framer.push(part, (line) => {
        lines.push(latin1.decode(line));
      });
    }
  } catch (error) {
    if (!(error instanceof EmError) || error.code !== "protocol") throw error;
    return { lines, error: error.message };
  }
  return { lines };
}

function wsMessages(parts: Uint8Array[]): string {
  const decoder = new WsFrameDecoder(64 * 1024);
  const latin1 = new TextDecoder("latin1");
  const out: string[] = [];
  try {
    for (const part of parts) {
      decoder.push(part, (op, payload) => {
        out.push(`${op}:${payload.length}:${latin1.decode(payload)}`);
        if (op === WS_OPCODES.TEXT) {
          decodeAfbMessage(new TextDecoder().decode(payload));
        }
      });
    }
  } catch (error) {
    if (!(error instanceof WsFrameError)) throw error;
    out.push(`error ${error.closeCode}`);
  }
  return out.join("\n");
}

/** The codec: any split frames as one chunk does; decoders never throw but their own errors. */
export const codec: Target<StreamCase> = {
  name: "codec",
  make: makeStream,
  check(c) {
    try {
      const bytes = Uint8Array.from(c.bytes);
      const parts = pieces(c, bytes);
      const whole = frameLines([bytes]);
      const split = frameLines(parts);
      if (
        whole.error !== split.error ||
        whole.lines.join("\n") !== split.lines.join("\n")
      ) {
        return "the framer gave other lines for the split stream";
      }
      for (const line of whole.lines) {
        const bytes = Uint8Array.from(line, (ch) => ch.charCodeAt(0));
        const decoded = decodeMessage(bytes, DEFAULT_LIMITS);
        if (decoded.ok && decoded.message.command.letter === "H") {
          parseHello(decoded.message);
        }
      }
      // the decoder unmasks in place: each run gets its own copy
      if (
        wsMessages([bytes.slice()]) !== wsMessages(pieces(c, bytes.slice()))
      ) {
        return "the WebSocket decoder gave other messages for the split stream";
      }
    } catch (error) {
      return `threw ${(error as Error).name}: ${(error as Error).message}`;
    }
  },
  shrink: shrinkStream,
};

/** A sequence of semaphore operations. */
export interface SyncCase {
  readonly ops: Op[];
}

function makeOps(seed: number, index: number): SyncCase {
  const rnd = caseRandom(seed, index);
  const int = (n: number) => Math.floor(rnd() * n);
  const ops: Op[] = [];
  for (let n = 5 + int(116); n > 0; n--) {
    const client = int(CLIENTS), kind = rnd();
    if (kind < 0.35) {
      ops.push({
        kind: "acquire",
        client,
        name: rnd() < 0.5 ? "m" : "s",
        wrongSize: int(5) === 0,
        count: 1 + int(3),
        ttlMs: rnd() < 0.5 ? null : 1 + int(50),
      });
    } else if (kind < 0.55) {
      ops.push({ kind: "release", client, pick: int(100), bogus: rnd() < 0.2 });
    } else if (kind < 0.65) {
      ops.push({ kind: "renew", pick: int(100), ttlMs: 1 + int(50) });
    } else if (kind < 0.75) {
      ops.push({ kind: "withdraw", client, pick: int(100) });
    } else if (kind < 0.85) ops.push({ kind: "disconnect", client });
    else ops.push({ kind: "advance", ms: int(60) });
  }
  return { ops };
}

/** The sync state machine: the semaphore table against the reference model, step by step. */
export const sync: Target<SyncCase> = {
  name: "sync",
  make: makeOps,
  check(c) {
    try {
      check(c.ops);
    } catch (error) {
      return (error as Error).message.split("\n")[0];
    }
  },
  *shrink(c) {
    for (let size = c.ops.length >> 1; size >= 1; size >>= 1) {
      for (let at = 0; at + size <= c.ops.length; at += size) {
        yield { ops: [...c.ops.slice(0, at), ...c.ops.slice(at + size)] };
      }
    }
  },
};
