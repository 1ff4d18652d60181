import assert from "node:assert/strict";
import { connect, startServer } from "../../mod.ts";
import { EmError } from "../../protocol/mod.ts";
import { openTriggerQueue } from "../../client/trigger_queue.ts";

/** Lines recorded by a callback, with a bounded wait for one to show up. */
function recorder() {
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  return {
    lines,
    add: (line: string) => {
      lines.push(line);
      for (const listener of [...listeners]) listener();
    },
    until(test: (lines: string[]) => boolean): Promise<void> {
      if (test(lines)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`never happened; got ${JSON.stringify(lines)}`));
        }, 10_000);
        const check = () => {
          if (!test(lines)) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
      });
    },
  };
}

Deno.test("trigger queue: without retry a lost server ends it", async () => {
  const server = await startServer({ port: 0, name: "t" });
  const sent = recorder();
  await using queue = openTriggerQueue({
    port: server.addr.port,
    retry: false,
    onSent: sent.add,
  });
  queue.push("a");
  await sent.until((lines) => lines.length === 1);
  await server.close();
  const end = await queue.ended;
  assert.ok(end instanceof EmError);
});

Deno.test("trigger queue: a server restart on the same port loses nothing", async () => {
  const first = await startServer({ port: 0, name: "t" });
  const port = first.addr.port;
  const sent = recorder();
  const notices = recorder();
  await using queue = openTriggerQueue({
    port,
    retryMaxMs: 20,
    maxQueued: 3,
    onSent: sent.add,
    onNotice: notices.add,
  });
  queue.push("a");
  await sent.until((lines) => lines.length === 1);
  await first.close();
  await notices.until((lines) => lines.some((line) => /retrying/.test(line)));
  for (const event of ["b", "c", "d", "e"]) queue.push(event);
  await notices.until((lines) => lines.some((line) => /Queue full/.test(line)));
  await using second = await startServer({ port, name: "t" });
  await using receiver = await connect({ port, receive: true });
  await receiver.flush();
  await queue.drain();
  assert.deepEqual(sent.lines, ["a", "b", "c", "d"]);
  queue.push("f");
  assert.equal(await receiver.wait("f", 10_000), true);
  assert.equal(notices.lines.length, 3, notices.lines.join("\n"));
  assert.match(notices.lines[2]!, /Connected again.*1 triggers were dropped/);
  assert.equal(second.connectionCount, 2);
});

Deno.test("trigger queue: the quit event ends it", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const sent = recorder();
  await using queue = openTriggerQueue({
    port: server.addr.port,
    quitEvent: "stop",
    onSent: sent.add,
  });
  queue.push("ready"); // once confirmed, the queue's receive flag was processed too
  await sent.until((lines) => lines.length === 1);
  await using other = await connect({ port: server.addr.port });
  await other.trigger("stop");
  assert.equal(await queue.ended, "quit");
});

Deno.test("trigger queue: a full queue waits while connected instead of dropping", async () => {
  await using server = await startServer({ port: 0, name: "t" });
  const sent = recorder();
  const notices = recorder();
  await using queue = openTriggerQueue({
    port: server.addr.port,
    maxQueued: 2,
    onSent: sent.add,
    onNotice: notices.add,
  });
  const events = Array.from({ length: 600 }, (_, i) => `e${i}`);
  for (const event of events) {
    await queue.room();
    queue.push(event);
  }
  await queue.drain();
  assert.deepEqual(sent.lines, events);
  assert.deepEqual(notices.lines, []);
});
