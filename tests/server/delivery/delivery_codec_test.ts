import assert from "node:assert/strict";
import type { Delivery } from "../../../server/delivery/bus.ts";
import {
  decodeDelivery,
  encodeBatch,
  encodeDelivery,
  splitBatch,
} from "../../../server/delivery/delivery_codec.ts";

const encoder = new TextEncoder();

const DELIVERIES: Delivery[] = [
  { kind: "plain", frame: encoder.encode("Ta\nTb\n"), lines: 2, from: "p:1" },
  { kind: "trigger", name: "build/done", json: '{"ok":true}', from: "p:2" },
  { kind: "push", name: "calc/tick", json: undefined, from: "agent:calc" },
  {
    kind: "push",
    name: "calc/tick",
    json: "1",
    from: "agent:calc",
    to: ["b/0", "c/1"],
  },
  { kind: "broadcast", name: "x/y", json: "null", from: "agent:x" },
];

/** What the receiving node sees: the sender's id joined to `from`. */
function received(delivery: Delivery): Delivery {
  return { ...delivery, from: `${delivery.from}@n1` };
}

Deno.test("delivery codec: each kind of delivery comes back as it was sent", () => {
  for (const delivery of DELIVERIES) {
    const bytes = encodeDelivery(delivery, "n1");
    assert.deepEqual(splitBatch(bytes), [bytes]); // one delivery is no batch
    assert.deepEqual(decodeDelivery(bytes), received(delivery));
  }
});

Deno.test("delivery codec: a batch holds its deliveries in order, a batch of one too", () => {
  for (const count of [1, 2, DELIVERIES.length]) {
    const payloads = DELIVERIES.slice(0, count).map((d) =>
      encodeDelivery(d, "n1")
    );
    const bytes = payloads.reduce((sum, p) => sum + p.length, 0);
    const parts = splitBatch(encodeBatch(payloads, bytes))!;
    assert.deepEqual(
      parts.map((part) => decodeDelivery(part)),
      DELIVERIES.slice(0, count).map(received),
    );
  }
});

Deno.test("delivery codec: malformed messages and batches are refused, not guessed", () => {
  const payloads = DELIVERIES.map((d) => encodeDelivery(d, "n1"));
  const batch = encodeBatch(
    payloads,
    payloads.reduce((sum, p) => sum + p.length, 0),
  );
  for (const cut of [2, 5, 9, batch.length - 1]) {
    assert.equal(splitBatch(batch.subarray(0, cut)), undefined, `cut ${cut}`);
  }
  for (
    const text of ["", "Xp\nTa\n", "Pno line end", 'Tp\n["no", ', "Tp\n[1]"]
  ) {
    assert.equal(decodeDelivery(encoder.encode(text)), undefined, text);
  }
});
