// The cases of tests/server/fuzz_test.ts: a seeded generator, valid sessions to mutate, the
// mutations, and one case = a byte stream, its cut points and how the peer ends.
const encoder = new TextEncoder();

/** mulberry32: a small, fast, seeded generator; the same seed gives the same cases. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Valid sessions of every kind the server speaks; mutated to make most of the fuzz cases. */
export const CORPUS: readonly string[] = [
  "H1.1\nF1\nTbuild_done\nTa\rTb\r\nQwrong_name\npsync\nF0\n",
  "H1,1;aapp\nF1;x\nTx;yz,1\nF\nT\nTa,b\n",
  'H1.2;m65536\nF1\ns1,speed/*\nt2,door/open,{"a":[1,2,{"b":null}]}\n' +
  'c3,fuzz/echo,[1,"\\x2C\\x3B"]\nu4,speed/*\npq\n',
  "H1.2\nF1\nl1,fuzz_latch\nw2,fuzz_latch,other\nz3,fuzz_latch\n" +
  "k4,fuzz_lock,1,1\nv5,fuzz_lock,tok\nb6,fuzz_barrier,2\nq6\n",
  "H1.2\nc1,fuzz/nothing\nc2,nope/echo,{}\nt3,a,not json\ns4,*\nd5,x\n",
  `H1.1\nT${"n".repeat(255)}\nT${"n".repeat(256)}\np\\xZZ\np\\xC3\\xA9\n`,
];

export type Random = () => number;
const pick = <T>(rnd: Random, items: readonly T[]): T =>
  items[Math.floor(rnd() * items.length)]!;
const int = (rnd: Random, max: number) => Math.floor(rnd() * max);

function randomBytes(rnd: Random, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = int(rnd, 256);
  return bytes;
}

/** One mutation of a byte stream: what a broken or hostile peer might send instead. */
const MUTATIONS: ((rnd: Random, b: Uint8Array) => Uint8Array)[] = [
  (rnd, b) => b.map((x, i) => i === int(rnd, b.length) ? int(rnd, 256) : x),
  (rnd, b) =>
    splice(b, int(rnd, b.length + 1), 0, randomBytes(rnd, 1 + int(rnd, 16))),
  (rnd, b) => splice(b, int(rnd, b.length + 1), int(rnd, 32), new Uint8Array()),
  (rnd, b) => {
    const start = int(rnd, b.length + 1);
    const part = b.subarray(start, start + 1 + int(rnd, 64));
    const copies = 1 + int(rnd, 80); // may build a line far over the limit
    return splice(b, start, 0, concat(Array(copies).fill(part)));
  },
  (rnd, b) =>
    splice(
      b,
      int(rnd, b.length + 1),
      0,
      encoder.encode(
        pick(rnd, ["\r", "\n", "\r\n", "\n\r", ";", ",", "\\x", "\\xFF", "\0"]),
      ),
    ),
  (rnd, b) =>
    splice(
      b,
      int(rnd, b.length + 1),
      0,
      encoder.encode("x".repeat(4000 + int(rnd, 1200))),
    ),
  (rnd, b) => b.map((x, i) => i === int(rnd, b.length) ? x ^ 0x20 : x), // flip a letter's case
  (rnd, b) => b.subarray(0, int(rnd, b.length + 1)), // truncated mid-message
];

/** One to four mutations of `bytes`, chosen by `rnd`. */
export function mutate(rnd: Random, bytes: Uint8Array): Uint8Array {
  for (let n = 1 + int(rnd, 4); n > 0; n--) {
    bytes = pick(rnd, MUTATIONS)(rnd, bytes);
  }
  return bytes;
}

function splice(b: Uint8Array, at: number, remove: number, insert: Uint8Array) {
  return concat([b.subarray(0, at), insert, b.subarray(at + remove)]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** What a fuzz run sent, for its report. */
export interface Sent {
  random: number;
  mutated: number;
  bytes: number;
  readToEnd: number;
}

/** One fuzz case: a byte stream, how it is cut into writes, and how the peer ends. */
export function fuzzCase(rnd: Random, corpus: readonly string[], sent: Sent) {
  let bytes: Uint8Array;
  const kind = rnd();
  if (kind < 0.25) {
    sent.random++;
    bytes = randomBytes(rnd, int(rnd, 6000));
    if (rnd() < 0.5) bytes = concat([encoder.encode("H1.2\nF1\n"), bytes]);
  } else {
    sent.mutated++;
    bytes = mutate(rnd, encoder.encode(pick(rnd, corpus)));
  }
  const cuts = Array.from(
    { length: int(rnd, 5) },
    () => int(rnd, bytes.length + 1),
  )
    .sort((a, b) => a - b);
  const readToEnd = rnd() < 0.5;
  sent.bytes += bytes.length;
  if (readToEnd) sent.readToEnd++;
  return { bytes, cuts, readToEnd };
}

const HEX64 = "0123456789abcdef".repeat(4);

/**
 * The corpus for a server with a shared secret: every session above behind a hello with a nonce
 * and a proof that cannot be right, plus hellos missing either, and a 1.1 quit with the server's
 * real name (an unauthenticated quit must be ignored).
 */
export const AUTH_CORPUS: readonly string[] = [
  ...CORPUS.map((session) =>
    session.replace(/^H[^\n]*/, `H1.2;m65536;n${HEX64};h${HEX64}`)
  ),
  `H1.2;n${HEX64}\nF1\nTx\n`,
  `H1.2;h${HEX64}\nF1\nTx\n`,
  `H1.2;n${HEX64};h${HEX64.toUpperCase()}\nF1\nTx\n`,
  "H1.1\nF1\nQfuzz\n",
];

/** Case `index` of a run: its own generator, so any one case can be rebuilt from seed and index. */
export function caseRandom(seed: number, index: number): Random {
  return random((seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0);
}
