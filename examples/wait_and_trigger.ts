// deno-lint-ignore-file no-console -- an example prints what it shows
/**
 * Embeds an em server, then waits for an event that another connection triggers.
 *
 *     deno run --allow-net=127.0.0.1 examples/wait_and_trigger.ts
 *
 * @module
 */
import { connect, EmError, startServer } from "../mod.ts";

await using server = await startServer({ port: 0, name: "example" });
const port = server.addr.port;

await using waiter = await connect({ port, receive: true, appName: "waiter" });
await using sender = await connect({ port, appName: "sender" });
await waiter.flush(); // a round trip: the server now knows the waiter receives triggers

await sender.trigger("build_done");
console.log("build_done:", await waiter.wait("build_done", 5_000)); // true
console.log("deploy_done:", await waiter.wait("deploy_done", 100)); // false: timed out

try {
  await connect({ port: 1 });
} catch (error) {
  if (!(error instanceof EmError)) throw error;
  console.log(`${error.code}: ${error.message}`); // connect: Cannot connect to …
}
