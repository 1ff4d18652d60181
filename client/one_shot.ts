/**
 * The one-shot client: a connection that says hello, triggers and waits once, for tools that run
 * once per process (emtrigger, emwait). It speaks exactly as `connect()`'s client does for these
 * (same hello, same ping and `w` request, same errors) but carries none of its channels, memory
 * or streams, so a fresh process loads and compiles a fraction of the code: start-up is most of
 * such a tool's time (docs/PERFORMANCE.md, "One-shot"). The second front door of client/.
 * @module
 */
import { EmError, importSecret } from "../protocol/line_codec.ts";
import { startUnrefTimer } from "./_deadline.ts";
import { exchangeHellos } from "./_hello.ts";
import { openSocket } from "./_socket.ts";
import type { OneShotClient, OneShotOptions } from "./_one_shot_api.ts";
import { Connection } from "./_one_shot_connection.ts";

export type {
  OneShotClient,
  OneShotOptions,
  OneShotWaitOptions,
} from "./_one_shot_api.ts";

/**
 * Connects and exchanges hellos, as `connect()` does for one server.
 * @throws {EmError} code "connect", "protocol", "auth", "refused" or "timeout", with the
 * messages of `connect()`
 */
export async function connectOneShot(
  options: OneShotOptions,
): Promise<OneShotClient> {
  const where = `${options.hostname}:${options.port}`;
  const timeoutMs = options.connectTimeoutMs;
  const key = options.secret === undefined
    ? undefined
    : await importSecret(options.secret);
  // bounds connecting and the hellos (the socket keeps the process alive: see startUnrefTimer)
  const deadline = new AbortController();
  let onLate = (): void => deadline.abort();
  const stopDeadline = startUnrefTimer(timeoutMs, () => onLate());
  const tooLate = () =>
    new EmError(
      "timeout",
      `Cannot connect to "${where}": no answer within ${timeoutMs} ms`,
    );
  let conn: Deno.Conn;
  try {
    conn = await openSocket(options, {
      signal: deadline.signal,
      ...(options.tls ? { tls: options.tls } : {}),
    });
  } catch (error) {
    stopDeadline();
    throw deadline.signal.aborted ? tooLate() : error;
  }
  const client = new Connection(conn, where, options.receive ?? false);
  if (client.receiving) client.firstWait = options.wait;
  onLate = () => client.fail(tooLate());
  try {
    await exchangeHellos({
      where,
      key,
      appName: options.appName,
      maxLineBytes: () => client.limits.maxLineBytes,
      receiving: client.receiving,
      nextHello: () => client.nextHello(),
      send: (text) => client.sendHello(text),
    });
  } catch (error) {
    if (error instanceof EmError) client.fail(error);
    await client.close();
    throw error;
  } finally {
    stopDeadline();
  }
  client.ready = true;
  return client;
}
