import assert from "node:assert/strict";
import fc from "npm:fast-check@^4.10.2";
import { startServer } from "../../server/mod.ts";
import { captureLogs, literal, RawPeer } from "../_helpers/wire.ts";

const encoder = new TextEncoder();

/**
 * Every bad input of docs/PROTOCOL.md ("Bad input"): what the peer sends after its hello, whether
 * the server closes the connection or drops only the message, and the fault in the one log line.
 */
const BAD_INPUT: [string, string | Uint8Array, "close" | "drop", string][] = [
  [
    "an oversize message",
    "T" + "x".repeat(4096) + "\n",
    "close",
    "Protocol error: Cannot read message: over 4096 bytes",
  ],
  [
    "an unfinished message past the limit",
    "T" + "x".repeat(5000),
    "close",
    "Protocol error: Cannot read message: over 4096 bytes",
  ],
  [
    "an oversize parameter",
    "T" + "x".repeat(256) + "\n",
    "drop",
    'parameter 1 of "T" is over 255 characters',
  ],
  [
    "an oversize option parameter",
    "Ta;i" + "x".repeat(256) + "\n",
    "drop",
    'parameter 1 of "i" is over 255 characters',
  ],
  ["a bad name", "Ta-b\n", "drop", 'bad event name "a-b"'],
  ["an escaped bad name", "Ta\\x2Db\n", "drop", 'bad event name "a-b"'],
  ["a trigger without a name", "T\n", "drop", 'bad event name ""'],
  ["a trigger with two names", "Ta,b\n", "drop", 'bad event name "a,b"'],
  [
    "a bad escape",
    "Ta\\q\n",
    "drop",
    'parameter 1 of "T": bad escape at offset 1: expected \\xHH',
  ],
  [
    "escaped bytes that are not UTF-8",
    "T\\xFF\n",
    "drop",
    'parameter 1 of "T": escaped bytes are not valid UTF-8',
  ],
  ["bad flags", "Fyes\n", "drop", 'bad flags "yes": expected an integer'],
  [
    "a quit with the wrong name",
    "Qnope\n",
    "drop",
    'refused quit: wrong server name "nope"',
  ],
  [
    "an unknown upper-case command",
    "Xfoo\n",
    "close",
    'Protocol error: unknown command "X"',
  ],
  [
    "an unknown upper-case option",
    "Ta;Xfoo\n",
    "close",
    'Protocol error: unknown option "X" on "T"',
  ],
  [
    "an unknown upper-case option on flags",
    "F1;Y\n",
    "close",
    'Protocol error: unknown option "Y" on "F"',
  ],
  [
    "an empty option block",
    "Ta;\n",
    "close",
    "Protocol error: block at offset 3 does not start with a letter",
  ],
  [
    "a block that is not a letter",
    "1\n",
    "close",
    "Protocol error: block at offset 0 does not start with a letter",
  ],
  [
    "binary garbage",
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0xff),
    "close",
    "Protocol error: non-printable byte 0x89 at offset 0",
  ],
  [
    "a NUL byte",
    "Ta\0b\n",
    "close",
    "Protocol error: non-printable byte 0x00 at offset 2",
  ],
  [
    "non-ASCII text",
    "Tcafé\n",
    "close",
    "Protocol error: non-printable byte 0xC3 at offset 4",
  ],
];

for (const [what, input, outcome, fault] of BAD_INPUT) {
  const verb = outcome === "close"
    ? "closes the connection"
    : "drops the message";
  Deno.test(`emd: ${what} ${verb} with one log line and others stay served`, async () => {
    await using logs = await captureLogs();
    await using server = await startServer({ port: 0, name: "t" });
    const port = server.addr.port;
    await using bystander = await RawPeer.greeted(port, "H1.1\nF1");
    await bystander.roundTrip("flags");
    await using peer = await RawPeer.greeted(port);
    await peer.send(typeof input === "string" ? encoder.encode(input) : input);
    if (outcome === "close") {
      assert.deepEqual(await peer.untilClosed(), []);
    } else {
      assert.deepEqual(await peer.roundTrip(), []); // the session goes on
      await peer.send("Tstill_served\n");
      await peer.roundTrip("after");
    }
    const logged = outcome === "close"
      ? `em WARNING Closed ${peer.name}: ${fault}`
      : `em WARNING Dropped a message from ${peer.name}: ${fault}`;
    assert.deepEqual(logs.matching(new RegExp(literal(peer.name))), [
      `em INFO Accepted ${peer.name}`,
      logged,
    ]);
    await using sender = await RawPeer.greeted(port);
    await sender.send("Tok\n");
    await sender.roundTrip();
    const expected = outcome === "close" ? ["Tok"] : ["Tstill_served", "Tok"];
    assert.deepEqual(await bystander.roundTrip(), expected);
  });
}

Deno.test("emd: a peer vanishing mid-message is logged with the bytes it left", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({ port: 0, name: "t" });
  await using bystander = await RawPeer.greeted(server.addr.port, "H1.1\nF1");
  const peer = await RawPeer.greeted(server.addr.port);
  const name = peer.name;
  await peer.send("Tx\nTbuild_do");
  peer.close();
  assert.equal(
    await logs.waitFor(new RegExp(literal(`Closed ${name}`))),
    `em WARNING Closed ${name}: Peer closed mid-message (9 bytes unterminated)`,
  );
  assert.deepEqual(await bystander.roundTrip(), ["Tx"]); // what it finished was delivered
  assert.equal(server.connectionCount, 1);
});

Deno.test("emd: a peer closing between messages is logged as info", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({ port: 0, name: "t" });
  const peer = await RawPeer.greeted(server.addr.port);
  const name = peer.name;
  peer.close();
  assert.equal(
    await logs.waitFor(new RegExp(literal(`Closed ${name}`))),
    `em INFO Closed ${name}: Peer closed the connection`,
  );
});

// "i" and "f" are lower-case letters no capability reserves (docs/PROTOCOL.md): always unknown.
Deno.test("emd: unknown lower-case commands and options and empty lines are ignored silently", async () => {
  await using logs = await captureLogs();
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await RawPeer.greeted(
    server.addr.port,
    "H1.1;ihello\nF1;iopt",
  );
  await peer.send("icommand,1\n\n\r\nfq;Y\nTa;iopt,2;fopt\nQnot_t;iopt\n");
  assert.deepEqual(await peer.roundTrip(), ["Ta"]);
  assert.deepEqual(logs.matching(new RegExp(literal(peer.name))), [
    `em INFO Accepted ${peer.name}`,
    `em WARNING Dropped a message from ${peer.name}: refused quit: wrong server name "not_t"`,
  ]);
});

Deno.test("emd: a ping p<token> is answered with the same token", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using peer = await RawPeer.greeted(server.addr.port, "H1.2");
  await peer.send("pabc\np\npa,b\npa\\x3Bb;iopt\n");
  assert.equal(await peer.readLine(), "pabc");
  assert.equal(await peer.readLine(), "p");
  assert.equal(await peer.readLine(), "pa,b");
  assert.equal(await peer.readLine(), "pa\\x3Bb");
});

Deno.test("emd: random bytes after a hello never stop the server", async () => {
  await using logs = await captureLogs(); // keeps the fault lines out of the test output
  await using server = await startServer({ port: 0, name: "t" });
  const port = server.addr.port;
  await using bystander = await RawPeer.greeted(port, "H1.1\nF1");
  await bystander.roundTrip("flags");
  const alphabet = fc.constantFrom(
    ..."TFHQpe;,\\x0A1_\r\n".split("").map((c) => c.charCodeAt(0)),
    0,
    0x7f,
    0xc3,
  );
  const inputs = fc.sample(
    fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(alphabet, { maxLength: 300 }).map((bytes) =>
        Uint8Array.from(bytes)
      ),
    ),
    { numRuns: 60, seed: 20261123 },
  );
  for (const input of inputs) {
    const peer = await RawPeer.greeted(port);
    await peer.send(input);
    peer.close();
  }
  await using sender = await RawPeer.greeted(port);
  await sender.send("Tstill_here\n");
  await sender.roundTrip();
  const lines = await bystander.roundTrip();
  assert.equal(lines.at(-1), "Tstill_here");
  assert.ok(logs.lines.length > 0);
});
