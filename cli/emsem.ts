import { CLIENT_OPTIONS, type ToolSpec } from "./_tool.ts";
import { HOLD_OPTIONS, runHoldTool } from "./_hold.ts";

/** emsem's command line. */
export const spec: ToolSpec = {
  name: "emsem",
  usage: `hostname port name permits [--timeout ms] -- command [args…]
       emsem --acquire --ttl ms [--timeout ms] hostname port name permits
       emsem --release hostname port name token
       emsem --renew --ttl ms hostname port name token`,
  help: `Runs command while holding one permit of the counting semaphore name of
permits permits on the em server at hostname:port (protocol 1.2 sync): at most
permits commands run at once. Exits with the command's status (128+n for
signal n). Waiters are served first come, first served. Every user of name must
give the same permits: another number is refused (exit 1). The permit is bound
to emsem's connection: if emsem or its host dies, it is released at once; if
the connection is lost, the command is stopped (SIGTERM) and emsem exits 1.

--timeout ms        give up waiting: print "timeout" on stdout, exit 2
--ready-file PATH   write emsem's process ID to PATH once the server has queued
                    (or granted) the request; PATH may be a FIFO
--acquire --ttl ms  take a permit as a lease: print its token and exit 0
--release           release the lease token (from any process)
--renew --ttl ms    make the lease token end ms from now

Exit 0 (or the command's status): done. Exit 2: timeout. Exit 1: server
unreachable or lost, no sync on the server, another permits count in use, an
unknown or expired token, command not runnable. Exit 64: bad arguments.`,
  options: { ...CLIENT_OPTIONS, ...HOLD_OPTIONS },
  minPositionals: 4,
  maxPositionals: 4,
};

/** Runs emsem; returns the exit code. */
export function run(args: string[]): Promise<number> {
  return runHoldTool(spec, args, true);
}
