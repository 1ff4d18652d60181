/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released): for refused connects. */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
