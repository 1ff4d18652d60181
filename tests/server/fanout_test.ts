import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import { startServer } from "../../server/mod.ts";
import { RawPeer } from "../_helpers/wire.ts";

Deno.test("emd: a trigger wakes a receiving client", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await using sender = await connect({ port: server.addr.port });
  await waiter.flush(); // a round trip: the server has processed our flags
  await sender.trigger("build_done");
  assert.equal(await waiter.wait("build_done", 2_000), true);
});

Deno.test("emd: triggers go only to connections with flag bit 1", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const port = server.addr.port;
  await using none = await RawPeer.greeted(port); // no flags: 0
  await using zero = await RawPeer.greeted(port);
  await using two = await RawPeer.greeted(port);
  await using one = await RawPeer.greeted(port);
  await using three = await RawPeer.greeted(port);
  await using sender = await RawPeer.greeted(port);
  await zero.send("F0\n");
  await two.send("F2\n");
  await one.send("F1\n");
  await three.send("F3\n");
  for (const peer of [zero, two, one, three]) await peer.roundTrip("flags");
  await sender.send("Tx\r\nTy;iignored\rTz\n");
  assert.deepEqual(await sender.roundTrip(), []); // a sender without bit 1 gets nothing back
  for (const peer of [none, zero, two]) {
    assert.deepEqual(await peer.roundTrip(), []);
  }
  for (const peer of [one, three]) {
    assert.deepEqual(await peer.roundTrip(), ["Tx", "Ty", "Tz"]);
  }
});

Deno.test("emd: a receiver's own triggers come back to it", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await RawPeer.greeted(server.addr.port, "H1.1\nF1");
  await peer.send("Tself\n");
  assert.deepEqual(await peer.roundTrip(), ["Tself"]);
});

Deno.test("emd: F0 after F1 stops delivery", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using receiver = await RawPeer.greeted(server.addr.port, "H1.1\nF1");
  await using sender = await RawPeer.greeted(server.addr.port);
  await receiver.roundTrip("flags");
  await sender.send("Tbefore\n");
  await sender.roundTrip();
  await receiver.send("F0\n");
  assert.deepEqual(await receiver.roundTrip("off"), ["Tbefore"]);
  await sender.send("Tafter\n");
  await sender.roundTrip();
  assert.deepEqual(await receiver.roundTrip(), []);
  await receiver.send("F1\n");
  await receiver.roundTrip("on");
  await sender.send("Tagain\n");
  await sender.roundTrip();
  assert.deepEqual(await receiver.roundTrip(), ["Tagain"]);
});

Deno.test("emd: triggers keep their order across plain and optioned messages", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using receiver = await RawPeer.greeted(server.addr.port, "H1.1\nF1");
  await using sender = await RawPeer.greeted(server.addr.port);
  await receiver.roundTrip("flags");
  await sender.send("Ta\nTb;f\nTc\niunknown\nTd\nT\\x65\nTf\n");
  await sender.roundTrip();
  assert.deepEqual(await receiver.roundTrip(), [
    "Ta",
    "Tb",
    "Tc",
    "Td",
    "Te",
    "Tf",
  ]);
});

Deno.test("emd: a pipelined mix of plain, bad, CRLF and optioned triggers keeps every rule and the order", async () => {
  // One write of ~40 KB: emd reads it in growing pieces (128 bytes, 512, 2 KiB…), so runs of plain
  // triggers take the fast path, lines straddle reads, and everything else takes the full codec.
  await using server = await startServer({ port: 0, name: "t" });
  await using receiver = await RawPeer.greeted(server.addr.port, "H1.1\nF1");
  await using sender = await RawPeer.greeted(server.addr.port);
  await receiver.roundTrip("flags");
  const lines: string[] = [];
  const expected: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const kind = i % 7;
    if (kind === 3) lines.push(`Tb-${i}`); // a bad name: dropped
    else if (kind === 4) lines.push(""); // an empty line: skipped
    else if (kind === 5) lines.push(`Tc${i}\r`); // CRLF: delivered as Tc<i>
    else if (kind === 6) lines.push(`Td${i};x`); // an ignorable option: delivered as Td<i>
    else lines.push(`Ta${"x".repeat(i % 40)}${i}`);
    const name = { 3: "", 4: "", 5: `Tc${i}`, 6: `Td${i}` }[kind] ??
      lines.at(-1)!;
    if (name !== "") expected.push(name);
  }
  await sender.send(lines.join("\n") + "\n");
  await sender.roundTrip();
  assert.deepEqual(await receiver.roundTrip(), expected);
});

Deno.test("emd: 500 concurrent receivers are woken by one trigger", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const port = server.addr.port;
  const waiters = await Promise.all(
    Array.from({ length: 500 }, () => connect({ port, receive: true })),
  );
  try {
    await Promise.all(waiters.map((waiter) => waiter.flush()));
    const woken = Promise.all(
      waiters.map((waiter) => waiter.wait("go", 30_000)),
    );
    await using sender = await connect({ port });
    await sender.trigger("go");
    assert.deepEqual(await woken, waiters.map(() => true));
  } finally {
    await Promise.all(waiters.map((waiter) => waiter.close()));
  }
});
