// The one-shot client (client/one_shot.ts) against a real emd and fake servers: it must fail with
// exactly the errors `connect()`'s client gives, and trigger and wait as that client does.
import assert from "node:assert/strict";
import { connect } from "../../client/mod.ts";
import { connectOneShot, type OneShotOptions } from "../../client/one_shot.ts";
import { EmError } from "../../protocol/mod.ts";
import { startServer } from "../../server/mod.ts";
import { RawPeer } from "../_helpers/wire.ts";
import { closedPort } from "../_helpers/ports.ts";

const HOST = "127.0.0.1";

/** What a failed connect threw: class, code and message. */
async function failure(connecting: Promise<unknown>): Promise<string> {
  try {
    const client = await connecting;
    await (client as AsyncDisposable)[Symbol.asyncDispose]();
  } catch (error) {
    const code = error instanceof EmError ? ` ${error.code}` : "";
    return `${(error as Error).name}${code}: ${(error as Error).message}`;
  }
  return "connected";
}

/** Both clients' failures for the same options, one-shot first. */
async function bothFail(
  options: Omit<OneShotOptions, "hostname">,
): Promise<[string, string]> {
  return [
    await failure(connectOneShot({ hostname: HOST, ...options })),
    await failure(connect({ hostname: HOST, ...options })),
  ];
}

/** A receiving one-shot client of `port` waits for "go", gets it, and is disposed. */
async function waitForGo(port: number): Promise<void> {
  await using waiter = await connectOneShot({
    hostname: HOST,
    port,
    connectTimeoutMs: 2_000,
    receive: true,
  });
  assert.equal(await waiter.waitAny(["go"], 2_000), "go");
}

/** A fake server: accepts one connection at a time and hands it to `serve`. */
function fakeServer(
  serve: (peer: RawPeer) => Promise<void>,
): { port: number; done: Promise<void> } & Disposable {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const done = (async () => {
    for await (const conn of listener) {
      await using peer = RawPeer.wrap(conn);
      await serve(peer);
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    done,
    [Symbol.dispose]: () => listener.close(),
  };
}

Deno.test("one-shot client: an unreachable server fails as connect() does", async () => {
  const [ours, theirs] = await bothFail({
    port: closedPort(),
    connectTimeoutMs: 2_000,
  });
  assert.match(
    ours,
    /^EmError connect: Cannot connect to .*connection refused$/,
  );
  assert.equal(ours, theirs);
});

Deno.test("one-shot client: a silent server times out as connect() does", async () => {
  const silent = fakeServer(async (peer) => {
    await peer.readLine(); // until the client gives up and closes
  });
  const [ours, theirs] = await bothFail({
    port: silent.port,
    connectTimeoutMs: 200,
  });
  assert.equal(
    ours,
    `EmError timeout: Cannot connect to "${HOST}:${silent.port}": no answer within 200 ms`,
  );
  assert.equal(ours, theirs);
  silent[Symbol.dispose]();
  await silent.done;
});

Deno.test("one-shot client: a bad or foreign hello fails as connect() does", async () => {
  for (const hello of ["H2.0", "X1.2", "\x01"]) {
    const server = fakeServer(async (peer) => {
      await peer.send(hello + "\n");
      await peer.readLine(); // until the client closes
    });
    const [ours, theirs] = await bothFail({
      port: server.port,
      connectTimeoutMs: 2_000,
    });
    assert.match(ours, /^EmError protocol: /, hello);
    assert.equal(ours, theirs, hello);
    server[Symbol.dispose]();
    await server.done;
  }
});

Deno.test("one-shot client: a refused hello and secrets fail as connect() does", async () => {
  await using locked = await startServer({
    port: 0,
    name: "locked",
    secret: "s3cret",
  });
  const port = locked.addr.port;
  const cases: Omit<OneShotOptions, "hostname">[] = [
    { port, connectTimeoutMs: 2_000 }, // no secret
    { port, connectTimeoutMs: 2_000, secret: "wrong" },
  ];
  for (const options of cases) {
    const [ours, theirs] = await bothFail(options);
    assert.match(ours, /^EmError (auth|refused): /);
    assert.equal(ours, theirs);
  }
  await using open = await startServer({ port: 0, name: "open" });
  const [ours, theirs] = await bothFail({
    port: open.addr.port,
    connectTimeoutMs: 2_000,
    secret: "s3cret",
  });
  assert.match(ours, /^EmError auth: /);
  assert.equal(ours, theirs);
  await using right = await connectOneShot({
    hostname: HOST,
    port,
    connectTimeoutMs: 2_000,
    secret: "s3cret",
  });
  await right.flush({ timeoutMs: 2_000 });
});

Deno.test("one-shot client: a trigger has reached the server once flush resolves", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await waiter.flush();
  await using sender = await connectOneShot({
    hostname: HOST,
    port: server.addr.port,
    connectTimeoutMs: 2_000,
    appName: "emtrigger",
  });
  await sender.trigger("build_done");
  await sender.flush({ timeoutMs: 2_000 });
  assert.equal(await waiter.wait("build_done", 2_000), true);
});

Deno.test("one-shot client: after the last flush it reads nothing and asks nothing; the trigger got there", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connect({ port: server.addr.port, receive: true });
  await waiter.flush();
  await using sender = await connectOneShot({
    hostname: HOST,
    port: server.addr.port,
    connectTimeoutMs: 2_000,
  });
  await sender.trigger("first");
  await sender.flush({ timeoutMs: 2_000 }); // not the last: asking goes on
  await sender.trigger("last");
  await sender.flush({ timeoutMs: 2_000, last: true });
  assert.equal(await waiter.wait("last", 2_000), true);
  await assert.rejects(
    sender.flush({ timeoutMs: 2_000 }),
    TypeError,
    `Cannot ask "${HOST}:${server.addr.port}" anything after the last flush`,
  );
  await assert.rejects(sender.waitAny(["x"], 100), TypeError);
  await sender[Symbol.asyncDispose](); // no read to cancel, none left behind
});

Deno.test("one-shot client: waitAny returns the name that fired, calling onReady once before", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using waiter = await connectOneShot({
    hostname: HOST,
    port: server.addr.port,
    connectTimeoutMs: 2_000,
    receive: true,
  });
  const events: string[] = [];
  const ready = Promise.withResolvers<void>();
  const fired = waiter.waitAny(["a", "b"], -1, {
    onReady: () => {
      events.push("ready");
      ready.resolve();
    },
  }).then((name) => (events.push(`fired ${name}`), name));
  await ready.promise; // the server has confirmed the wait: no trigger is missed now
  await using sender = await connect({ port: server.addr.port });
  await sender.trigger("c");
  await sender.trigger("b");
  assert.equal(await fired, "b");
  assert.deepEqual(events, ["ready", "fired b"]);
});

Deno.test("one-shot client: waitAny finds a latched name at once, and times out only after the server answered", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  await using latcher = await connect({ port: server.addr.port });
  await latcher.trigger("done", { latch: true });
  const open = (): ReturnType<typeof connectOneShot> =>
    connectOneShot({
      hostname: HOST,
      port: server.addr.port,
      connectTimeoutMs: 2_000,
      receive: true,
    });
  {
    await using waiter = await open();
    assert.equal(await waiter.waitAny(["x", "done"], 0), "done");
  }
  {
    await using waiter = await open();
    let readyBefore = false;
    const got = await waiter.waitAny(["x"], 0, {
      onReady: () => readyBefore = true,
    });
    assert.equal(got, null);
    assert.equal(readyBefore, true);
  }
});

Deno.test("one-shot client: a wait ends with the server's close, as connect()'s does", async () => {
  const server = fakeServer(async (peer) => {
    await peer.send("H1.1\n");
    await peer.readLine(); // our hello
    await peer.readLine(); // F1
    peer.conn.close();
  });
  await using waiter = await connectOneShot({
    hostname: HOST,
    port: server.port,
    connectTimeoutMs: 2_000,
    receive: true,
  });
  await assert.rejects(
    waiter.waitAny(["x"], -1),
    (error: unknown) =>
      error instanceof EmError && error.code === "closed" &&
      error.message ===
        `Connection to "${HOST}:${server.port}" closed by the server`,
  );
  server[Symbol.dispose]();
  await server.done;
});

Deno.test("one-shot client: with a 1.1 server, flush and a wait's confirmation need no answer", async () => {
  const seen: string[] = [];
  const server = fakeServer(async (peer) => {
    await peer.send("H1.1\n");
    for (let line = await peer.readLine(); line !== null;) {
      seen.push(line);
      if (line === "F1") await peer.send("Tgo\n");
      line = await peer.readLine();
    }
  });
  {
    await using sender = await connectOneShot({
      hostname: HOST,
      port: server.port,
      connectTimeoutMs: 2_000,
    });
    await sender.trigger("t1");
    await sender.flush({ timeoutMs: 2_000 });
  }
  await waitForGo(server.port);
  server[Symbol.dispose]();
  await server.done;
  assert.deepEqual(seen, ["H1.2", "Tt1", "H1.2", "F1"]);
});

Deno.test("one-shot client: a receiving client whose server dies at its last ping still closes", async () => {
  const seen: string[] = [];
  const server = fakeServer(async (peer) => {
    await peer.send("H1.2\n");
    for (let line = await peer.readLine(); line !== null;) {
      seen.push(line);
      if (line === "p1") await peer.send("p1\nTgo\n");
      if (line === "p2") return peer.close(); // gone before answering
      line = await peer.readLine();
    }
  });
  await waitForGo(server.port); // disposed without an error
  server[Symbol.dispose]();
  await server.done;
  assert.deepEqual(seen, ["H1.2", "F1", "p1", "F0", "p2"]);
});

Deno.test("one-shot client: a receiving client closes on a 1.2 server after F0 and a last ping, not after the server's end", async () => {
  const seen: string[] = [];
  let closedBy = "";
  const server = fakeServer(async (peer) => {
    await peer.send("H1.2\n");
    for (let line = await peer.readLine(); line !== null;) {
      seen.push(line);
      if (line === "p1") await peer.send("p1\nTgo\n"); // the wait's round trip, then its trigger
      if (line === "p2") await peer.send("p2\n");
      line = await peer.readLine();
    }
    closedBy = "client"; // we never closed first
  });
  await waitForGo(server.port);
  server[Symbol.dispose]();
  await server.done;
  assert.deepEqual(seen, ["H1.2", "F1", "p1", "F0", "p2"]);
  assert.equal(closedBy, "client");
});

/** A fake 1.2 server with sync: its first chunk read after the hello, then it answers each `w`. */
function syncServer(answer: (id: string, names: string) => string): {
  port: number;
  firstChunk: Promise<string[]>;
  waits: string[];
} & AsyncDisposable {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const first = Promise.withResolvers<string[]>();
  const waits: string[] = [];
  const done = (async () => {
    const conn = await listener.accept();
    await conn.write(new TextEncoder().encode("H1.2;m524288;l1\n"));
    const buffer = new Uint8Array(4096);
    let chunks = 0;
    for (
      let n = await conn.read(buffer);
      n !== null;
      n = await conn.read(buffer)
    ) {
      const lines = new TextDecoder().decode(buffer.subarray(0, n)).split("\n");
      if (chunks++ === 0) first.resolve(lines.filter((line) => line !== ""));
      for (const line of lines) {
        const wait = /^w([^,]+),(.*)$/.exec(line);
        if (wait !== null) waits.push(wait[2]!);
        const reply = wait === null ? "" : answer(wait[1]!, wait[2]!);
        const ping = /^p(.*)$/.exec(line);
        await conn.write(
          new TextEncoder().encode(reply + (ping ? `${line}\n` : "")),
        );
      }
    }
    conn.close();
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    firstChunk: first.promise,
    waits,
    [Symbol.asyncDispose]: async () => {
      listener.close();
      await done;
    },
  };
}

Deno.test("one-shot client: with `wait`, the wait's question goes out with the hello, in one write", async () => {
  await using server = syncServer((id) => `o${id}\nTgo\n`);
  {
    await using waiter = await connectOneShot({
      hostname: HOST,
      port: server.port,
      connectTimeoutMs: 2_000,
      receive: true,
      wait: ["go", "stop"],
    });
    const first = await server.firstChunk; // before waitAny is even called
    assert.deepEqual(first.slice(1), ["F1", "ws1,go,stop"]);
    assert.match(first[0]!, /^H1\.2/);
    let ready = 0;
    const fired = await waiter.waitAny(["go", "stop"], 2_000, {
      onReady: () => ready++,
    });
    assert.equal(fired, "go");
    assert.equal(ready, 1);
  }
  assert.deepEqual(server.waits, ["go,stop"]); // asked once
});

Deno.test("one-shot client: a wait for other names than `wait` asks anew; a latched answer comes through", async () => {
  await using server = syncServer((id, names) =>
    names === "b" ? `y${id},b\n` : `o${id}\n`
  );
  {
    await using waiter = await connectOneShot({
      hostname: HOST,
      port: server.port,
      connectTimeoutMs: 2_000,
      receive: true,
      wait: ["a"],
    });
    assert.equal(await waiter.waitAny(["b"], 2_000), "b");
  }
  assert.deepEqual(server.waits, ["a", "b"]);
});
