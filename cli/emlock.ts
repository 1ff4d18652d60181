import { CLIENT_OPTIONS, type ToolSpec } from "./_tool.ts";
import { HOLD_OPTIONS, runHoldTool } from "./_hold.ts";

/** emlock's command line. */
export const spec: ToolSpec = {
  name: "emlock",
  usage: `hostname port name [--timeout ms] -- command [args…]
       emlock --acquire --ttl ms [--timeout ms] hostname port name
       emlock --release hostname port name token
       emlock --renew --ttl ms hostname port name token`,
  help:
    `Runs command while holding the mutex name on the em server at hostname:port
(protocol 1.2 sync) and exits with the command's status (128+n for signal n).
Waiters are served first come, first served. The hold is bound to emlock's
connection: if emlock or its host dies, the lock is released at once; if the
connection is lost, the command is stopped (SIGTERM) and emlock exits 1.

--timeout ms        give up waiting: print "timeout" on stdout, exit 2
--ready-file PATH   write emlock's process ID to PATH once the server has queued
                    (or granted) the request; PATH may be a FIFO
--acquire --ttl ms  take the lock as a lease: print its token and exit 0; the
                    lock stays held until released, renewed or ms pass
--release           release the lease token (from any process)
--renew --ttl ms    make the lease token end ms from now

Exit 0 (or the command's status): done. Exit 2: timeout. Exit 1: server
unreachable or lost, no sync on the server, name is a semaphore, an unknown or
expired token, command not runnable. Exit 64: bad arguments.`,
  options: { ...CLIENT_OPTIONS, ...HOLD_OPTIONS },
  minPositionals: 3,
  maxPositionals: 4,
};

/** Runs emlock; returns the exit code. */
export function run(args: string[]): Promise<number> {
  return runHoldTool(spec, args, false);
}
