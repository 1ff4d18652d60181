/**
 * The bytes of deliveries between nodes (docs/CLUSTER.md, "Subjects"): one delivery is
 * `<kind byte><from>\n<body>`; a batch (several deliveries published in one NATS message) is `M`
 * then, per delivery, its length as 4 bytes big-endian and its bytes. Pure: no I/O.
 * @module
 */
import type { Delivery } from "./bus.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const LF = 0x0a;
/** First byte of a delivery: which kind of delivery it carries. */
const KIND_BYTE: Record<Delivery["kind"], number> = {
  plain: 0x50, // P
  trigger: 0x54, // T
  push: 0x55, // U
  broadcast: 0x42, // B
};
const KIND_OF = new Map(
  Object.entries(KIND_BYTE).map((
    [kind, byte],
  ) => [byte, kind as Delivery["kind"]]),
);
/** First byte of a batch of deliveries. */
const BATCH_BYTE = 0x4d; // M
/** A batch is published once it holds this many bytes (NATS's default message limit is 1 MiB). */
export const BATCH_BYTES = 256 * 1024;

/** `<kind byte><from>\n<body>`: a plain frame as is, data as JSON `[name, json]`. */
export function encodeDelivery(delivery: Delivery, nodeId: string): Uint8Array {
  const head = encoder.encode(`_${delivery.from}@${nodeId}\n`);
  head[0] = KIND_BYTE[delivery.kind];
  const body = delivery.kind === "plain"
    ? delivery.frame
    : encoder.encode(JSON.stringify(
      delivery.to === undefined
        ? [delivery.name, delivery.json ?? null]
        : [delivery.name, delivery.json ?? null, delivery.to],
    ));
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  return bytes;
}

/** The delivery in `bytes`, or undefined when malformed. */
export function decodeDelivery(bytes: Uint8Array): Delivery | undefined {
  const kind = KIND_OF.get(bytes[0] ?? 0);
  const lf = bytes.indexOf(LF);
  if (kind === undefined || lf === -1) return undefined;
  const from = decoder.decode(bytes.subarray(1, lf));
  if (kind === "plain") {
    const frame = bytes.slice(lf + 1); // kept by receivers' queues: our own copy
    let lines = 0;
    for (let i = frame.indexOf(LF); i !== -1; i = frame.indexOf(LF, i + 1)) {
      lines++;
    }
    return { kind, frame, lines, from };
  }
  try {
    const [name, json, to] = JSON.parse(
      decoder.decode(bytes.subarray(lf + 1)),
    ) as [string, string | null, string[] | undefined];
    if (typeof name !== "string") return undefined;
    return Array.isArray(to)
      ? { kind, name, json: json ?? undefined, from, to }
      : { kind, name, json: json ?? undefined, from };
  } catch {
    return undefined;
  }
}

/** One message holding `payloads` (encoded deliveries, `bytes` in all), in order. */
export function encodeBatch(
  payloads: readonly Uint8Array[],
  bytes: number,
): Uint8Array {
  const batch = new Uint8Array(1 + 4 * payloads.length + bytes);
  const view = new DataView(batch.buffer);
  batch[0] = BATCH_BYTE;
  let at = 1;
  for (const payload of payloads) {
    view.setUint32(at, payload.length);
    batch.set(payload, at + 4);
    at += 4 + payload.length;
  }
  return batch;
}

/**
 * The encoded deliveries a message holds: itself unless it is a batch; undefined for a batch whose
 * lengths do not add up.
 */
export function splitBatch(message: Uint8Array): Uint8Array[] | undefined {
  if (message[0] !== BATCH_BYTE) return [message];
  const view = new DataView(
    message.buffer,
    message.byteOffset,
    message.byteLength,
  );
  const payloads: Uint8Array[] = [];
  for (let at = 1; at < message.length;) {
    if (at + 4 > message.length) return undefined;
    const length = view.getUint32(at);
    if (at + 4 + length > message.length) return undefined;
    payloads.push(message.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return payloads;
}
