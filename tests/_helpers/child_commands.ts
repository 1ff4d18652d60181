// The child's side of child_server.ts: a server script run with --v8-flags=--expose-gc prints
// "port N", then answers each command line on stdin with one JSON line, taken after full garbage
// collections; "quit" stops it and exits 0.
const encoder = new TextEncoder();

/** Answers commands until "quit"; `answer` gets the command and the heap in use after collection. */
export async function answerCommands(
  port: number,
  answer: (command: string, heapUsed: number) => unknown,
  quit: () => Promise<void>,
): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");
  const say = (line: string) =>
    Deno.stdout.writeSync(encoder.encode(line + "\n"));
  say(`port ${port}`);
  let carry = "";
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    carry += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = carry.indexOf("\n")) !== -1) {
      const command = carry.slice(0, end);
      carry = carry.slice(end + 1);
      if (command === "quit") {
        await quit();
        Deno.exit(0);
      }
      for (let i = 0; i < 4; i++) { // weak maps and finalizers need more than one collection
        gc();
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      say(JSON.stringify(answer(command, Deno.memoryUsage().heapUsed)));
    }
  }
}
