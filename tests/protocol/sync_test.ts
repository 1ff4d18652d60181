import assert from "node:assert/strict";
import {
  decodeMessage,
  encodeSyncReply,
  encodeSyncRequest,
  type Message,
  parseSyncReply,
  parseSyncRequest,
  type SyncReply,
  type SyncRequest,
  syncVersionOf,
} from "../../protocol/mod.ts";

const encoder = new TextEncoder();

function decode(line: string): Message {
  const decoded = decodeMessage(encoder.encode(line));
  if (!decoded.ok) throw new Error(decoded.fault);
  return decoded.message;
}

Deno.test("sync codec: malformed requests name their fault, with the id when valid", () => {
  const table: [string, string | undefined, string][] = [
    ["l", undefined, 'bad request id ""'],
    ["lbad id,x", undefined, 'bad request id "bad id"'],
    ["l" + "a".repeat(33) + ",x", undefined, "bad request id"],
    ["l1", "1", "missing parameters"],
    ["l1,a,b", "1", "too many parameters"],
    ["l1,a/b", "1", 'bad event name "a/b"'],
    ["z1,a-b", "1", 'bad event name "a-b"'],
    ["w1", "1", "missing parameters"],
    ["w1,ok,bad-name", "1", 'bad event name "bad-name"'],
    ["k1,x,0,1", "1", 'bad permits "0": expected 1 to 1000000'],
    ["k1,x,1000001,1", "1", 'bad permits "1000001"'],
    ["k1,x,3,4", "1", 'bad count "4": expected 1 to 3'],
    ["k1,x,3,01", "1", 'bad count "01"'],
    ["k1,x,3", "1", 'bad count ""'],
    ["k1,/x,1,1", "1", 'bad name "/x"'],
    ["k1,x,1,1,0", "1", 'bad ttl "0": expected 1 to 2147483647'],
    ["k1,x,1,1,2147483648", "1", 'bad ttl "2147483648"'],
    ["k1,x,1,1,5,6", "1", "too many parameters"],
    ["v1,x", "1", "missing parameters"],
    ["v1,x,bad token", "1", 'bad token "bad token"'],
    ["m1,x,tok", "1", "missing parameters"],
    ["m1,x,tok,-5", "1", 'bad ttl "-5"'],
    ["b1,x,0", "1", 'bad parties "0"'],
    ["b1,x", "1", "missing parameters"],
    ["q1,x", "1", "too many parameters"],
  ];
  for (const [line, id, fault] of table) {
    const parsed = parseSyncRequest(decode(line));
    assert.ok("fault" in parsed, line);
    assert.equal(parsed.id, id, line);
    assert.ok(parsed.fault.startsWith(fault), `${line}: ${parsed.fault}`);
  }
});

Deno.test("sync codec: every request survives encode and parse", () => {
  const requests: SyncRequest[] = [
    { kind: "latch", id: "1", name: "build_done" },
    { kind: "reset", id: "a-2", name: "x" },
    { kind: "wait", id: "3", names: ["a", "b", "c"] },
    { kind: "acquire", id: "4", name: "db/migrate", permits: 1, count: 1 },
    {
      kind: "acquire",
      id: "5",
      name: "pool",
      permits: 3,
      count: 2,
      ttlMs: 60_000,
    },
    { kind: "release", id: "6", name: "pool", token: "t-1_A" },
    { kind: "renew", id: "7", name: "pool", token: "t", ttlMs: 2_147_483_647 },
    { kind: "barrier", id: "8", name: "start", parties: 50 },
    { kind: "withdraw", id: "9" },
  ];
  for (const request of requests) {
    const line = encodeSyncRequest(request);
    assert.deepEqual(parseSyncRequest(decode(line)), request, line);
  }
  assert.equal(
    encodeSyncRequest(requests[4]!),
    "k5,pool,3,2,60000",
  );
});

Deno.test("sync codec: every answer survives encode and parse", () => {
  const replies: [SyncReply, string][] = [
    [{ kind: "ok", id: "1" }, "o1"],
    [{ kind: "latched", id: "2", name: "b" }, "y2,b"],
    [{ kind: "granted", id: "3", token: "abc-1" }, "g3,abc-1"],
    [{ kind: "withdrawn", id: "4" }, "q4"],
    [
      { kind: "error", id: "5", code: "refused", text: 'Lock "x", 3; a\\b' },
      'erefused,Lock "x"\\x2C 3\\x3B a\\x5Cb,5',
    ],
  ];
  for (const [reply, line] of replies) {
    assert.equal(encodeSyncReply(reply), line);
    assert.deepEqual(parseSyncReply(decode(line)), reply, line);
  }
});

Deno.test("sync codec: answers that are not sync answers are undefined", () => {
  for (
    const line of [
      "o",
      "obad id",
      "o1,extra",
      "y1",
      "y1,bad-name",
      "g1",
      "g1,bad token",
      "q1,x",
      "eprotocol,Bad message", // a connection-level error: no request id
      "erefused,text,bad id",
      "T1",
    ]
  ) {
    assert.equal(parseSyncReply(decode(line)), undefined, line);
  }
});

Deno.test("sync codec: the hello option announces the version", () => {
  assert.equal(syncVersionOf(decode("H1.2;m524288;l1")), "1");
  assert.equal(syncVersionOf(decode("H1.2;m524288")), undefined);
});
