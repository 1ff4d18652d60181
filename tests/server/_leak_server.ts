// The server under tests/server/leak_test.ts, run as its own process with --v8-flags=--expose-gc;
// the argument is the hello timeout in ms. Counts its live timers (setTimeout/setInterval wrapped
// before the server is loaded) and its open descriptors (/proc/PID/fd), in all and TCP sockets
// alone. Answers each "stats" line on stdin with {heapUsed, fds, tcpFds, timers, connections}
// (tests/_helpers/child_commands.ts).

type TimerId = ReturnType<typeof setTimeout>;
type Callback = (...args: unknown[]) => void;
const live = new Set<unknown>();
const original = {
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setInterval: globalThis.setInterval,
};
globalThis.setTimeout = ((fn: Callback, ms?: number, ...args: unknown[]) => {
  const id: TimerId = original.setTimeout(() => {
    live.delete(id);
    fn(...args);
  }, ms);
  live.add(id);
  return id;
}) as typeof setTimeout;
globalThis.setInterval = ((fn: Callback, ms?: number, ...args: unknown[]) => {
  const id = original.setInterval(fn, ms, ...args);
  live.add(id);
  return id;
}) as typeof setInterval;
const clear = (id: unknown) => {
  live.delete(id);
  original.clearTimeout(id as TimerId);
};
globalThis.clearTimeout = clear as typeof clearTimeout;
globalThis.clearInterval = clear as typeof clearInterval;

const { startServer } = await import("../../server/mod.ts");
const { answerCommands } = await import("../_helpers/child_commands.ts");
const server = await startServer({
  port: 0,
  name: "leak",
  helloTimeoutMs: Number(Deno.args[0] ?? 60_000), // short for a test of silent peers
});

/** Open descriptors in all, and those that are TCP sockets (their inode is in /proc/net/tcp*). */
function fds(): { fds: number; tcpFds: number } {
  const tcp = new Set<string>();
  for (const table of ["tcp", "tcp6"]) {
    const text = Deno.readTextFileSync(`/proc/${Deno.pid}/net/${table}`);
    for (const row of text.split("\n").slice(1)) {
      const inode = row.trim().split(/\s+/)[9];
      if (inode !== undefined && inode !== "0") tcp.add(inode);
    }
  }
  let all = 0, tcpFds = 0;
  for (const entry of Deno.readDirSync(`/proc/${Deno.pid}/fd`)) {
    all++;
    try {
      const link = Deno.readLinkSync(`/proc/${Deno.pid}/fd/${entry.name}`);
      if (tcp.has(link.match(/^socket:\[(\d+)\]$/)?.[1] ?? "")) tcpFds++;
    } catch { /* closed meanwhile, or the directory's own descriptor */ }
  }
  return { fds: all, tcpFds };
}

await answerCommands(
  server.addr.port,
  (_, heapUsed) => ({ // heap first: the /proc tables read below are big
    heapUsed,
    ...fds(),
    timers: live.size,
    connections: server.connectionCount,
  }),
  () => server.close("leak test over"),
);
