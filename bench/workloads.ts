/**
 * Every workload `deno task bench` knows, in the order it runs them. To add one, export a
 * {@link Workload} from its own file and list it here.
 * @module
 */
import type { Workload } from "./workload.ts";
import { fanout } from "./fanout.ts";
import { latency } from "./latency.ts";
import { conns } from "./conns.ts";
import { oneshot } from "./oneshot.ts";
import { stall } from "./stall.ts";
import { sync } from "./sync_bench.ts";
import { websocket } from "./websocket_bench.ts";
import { cluster } from "./cluster_bench.ts";
import { tls } from "./tls_bench.ts";

/** The registry: name → workload, in run order. */
export const WORKLOADS: readonly Workload[] = [
  fanout,
  latency,
  conns,
  oneshot,
  stall,
  sync,
  websocket,
  cluster,
  tls,
];
