import assert from "node:assert/strict";
import {
  followFile,
  type FollowOptions,
  LineChunker,
  readLineChunks,
} from "../../client/log_follower.ts";

const encoder = new TextEncoder();

/** A follower over a fresh temp file, read line by line with a bounded wait per line. */
async function follow(initial: string, options: FollowOptions = {}) {
  const dir = await Deno.makeTempDir({ prefix: "emtail_" });
  const path = `${dir}/app.log`;
  await Deno.writeTextFile(path, initial);
  const abort = new AbortController();
  const follower = await followFile(path, {
    pollMs: 5,
    ...options,
    signal: abort.signal,
  });
  const chunks = follower[Symbol.asyncIterator]();
  let pending: string[] = [];
  return {
    path,
    /** The next `count` lines, waiting at most 10 s in all. */
    async lines(count: number): Promise<string[]> {
      const deadline = Date.now() + 10_000;
      while (pending.length < count) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const next = await Promise.race([
          chunks.next(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`only got ${pending.join("|")}`)),
              Math.max(0, deadline - Date.now()),
            );
          }),
        ]).finally(() => clearTimeout(timer));
        assert.equal(next.done, false);
        pending.push(...(next.value as string).split("\n").slice(0, -1));
      }
      const taken = pending.slice(0, count);
      pending = pending.slice(count);
      return taken;
    },
    append: (text: string) => Deno.writeTextFile(path, text, { append: true }),
    async [Symbol.asyncDispose]() {
      abort.abort();
      assert.equal((await chunks.next()).done, true);
      assert.deepEqual(pending, [], "unread lines");
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("log follower: a missing file fails at the start", async () => {
  await assert.rejects(
    followFile("/nonexistent/emtail.log"),
    Deno.errors.NotFound,
  );
});

Deno.test("log follower: existing content, then growth", async () => {
  await using log = await follow("one\ntwo\r\n");
  assert.deepEqual(await log.lines(2), ["one", "two\r"]);
  await log.append("three\n");
  assert.deepEqual(await log.lines(1), ["three"]);
  await log.append("four\nfive\n");
  assert.deepEqual(await log.lines(2), ["four", "five"]);
});

Deno.test("log follower: a partial line waits to be completed", async () => {
  await using log = await follow("first\npart");
  assert.deepEqual(await log.lines(1), ["first"]);
  await log.append("ial\n");
  assert.deepEqual(await log.lines(1), ["partial"]);
});

Deno.test("log follower: --from-end skips existing lines and a partial one", async () => {
  await using log = await follow("old\nhalf", { fromEnd: true });
  await log.append(" done\nnew\n");
  assert.deepEqual(await log.lines(1), ["new"]);
});

Deno.test("log follower: truncation starts again from the top", async () => {
  await using log = await follow("aaaa\nbbbb\n");
  assert.deepEqual(await log.lines(2), ["aaaa", "bbbb"]);
  await Deno.truncate(log.path, 0);
  await log.append("c\n");
  assert.deepEqual(await log.lines(1), ["c"]);
  await log.append("d\n");
  assert.deepEqual(await log.lines(1), ["d"]);
});

Deno.test("log follower: rotation finishes the old file, then follows the new", async () => {
  await using log = await follow("a\n");
  assert.deepEqual(await log.lines(1), ["a"]);
  await Deno.rename(log.path, `${log.path}.1`);
  await Deno.writeTextFile(`${log.path}.1`, "old tail\nunfinished", {
    append: true,
  });
  await Deno.writeTextFile(log.path, "new\n");
  assert.deepEqual(await log.lines(3), ["old tail", "unfinished", "new"]);
  await log.append("newer\n");
  assert.deepEqual(await log.lines(1), ["newer"]);
});

Deno.test("log follower: a file larger than the buffer is streamed whole", async () => {
  const lines = Array.from({ length: 5_000 }, (_, i) => `line ${i} é€`);
  await using log = await follow(lines.join("\n") + "\n", { bufferBytes: 7 });
  assert.deepEqual(await log.lines(5_000), lines);
});

Deno.test("log follower: a stream ends with its unfinished last line", async () => {
  const stream = ReadableStream.from(
    ["a\nb", "c\n", "d"].map((text) => encoder.encode(text)),
  );
  const chunks: string[] = [];
  for await (const chunk of readLineChunks(stream)) chunks.push(chunk);
  assert.deepEqual(chunks, ["a\n", "bc\n", "d\n"]);
});

Deno.test("line chunker: multi-byte characters split across chunks and long lines", () => {
  const chunker = new LineChunker(4);
  const bytes = encoder.encode("é\n");
  assert.equal(chunker.push(bytes.subarray(0, 1)), "");
  assert.equal(chunker.push(bytes.subarray(1)), "é\n");
  assert.equal(chunker.push(encoder.encode("abcdefg")), "abcdefg\n");
  assert.equal(chunker.push(encoder.encode("xy")), "");
  assert.equal(chunker.flush(), "xy\n");
  assert.equal(chunker.flush(), "");
});
