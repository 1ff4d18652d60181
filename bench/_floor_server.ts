/**
 * Deno's floor for an idle connection: a bare server that accepts, writes a hello line and keeps
 * one pending read (1 KiB buffer) per socket, with no protocol at all. Prints "listening on
 * HOST:PORT" like emd. Used by bench/conns_floor.ts.
 * @module
 */
const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const { hostname, port } = listener.addr as Deno.NetAddr;
Deno.stdout.writeSync(
  new TextEncoder().encode(`listening on ${hostname}:${port}\n`),
);
const hello = new TextEncoder().encode("H1.1\n");

async function serve(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(1024);
  try {
    await conn.write(hello);
    while ((await conn.read(buffer)) !== null) { /* discard */ }
  } catch { /* reset */ }
  conn.close();
}

for await (const conn of listener) void serve(conn);
