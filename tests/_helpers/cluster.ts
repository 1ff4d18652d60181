/**
 * emd nodes of a test cluster over the 3-node nats-server cluster a test file starts once
 * (bench/_nats_cluster.ts): node `index` joins through NATS server `index % 3`, in-process
 * (`clusterNode`) or as an `emd --cluster` process (`clusterEmd`).
 */
import { type EmServer, startServer } from "../../mod.ts";
import type { Agent } from "../../server/mod.ts";
import type { NatsCluster } from "../../bench/_nats_cluster.ts";
import { type EmdProcess, startEmd } from "./cli.ts";

/** How {@link clusterNode} starts a node. */
export interface ClusterNodeOptions {
  /** The event space: every node of one cluster has the same server name. */
  readonly name: string;
  /**
   * The node's id.
   * @default {`node${index}`}
   */
  readonly nodeId?: string;
  /**
   * How often it says it is alive (gone after 3.5 unheard).
   * @default {200}
   */
  readonly heartbeatMs?: number;
  /**
   * The agents it hosts.
   * @default {[]}
   */
  readonly agents?: Agent[];
  /**
   * True to open its HTTP listener (port 0) too.
   * @default {false}
   */
  readonly http?: boolean;
}

/** The NATS URL node `index` joins through. */
function natsUrl(nats: NatsCluster, index: number): string {
  return `nats://127.0.0.1:${nats.ports[index % nats.ports.length]}`;
}

/** Starts an in-process emd on port 0 as node `index` of a cluster on `nats`. */
export function clusterNode(
  nats: NatsCluster,
  index: number,
  options: ClusterNodeOptions,
): Promise<EmServer> {
  return startServer({
    port: 0,
    name: options.name,
    ...(options.http ? { http: { port: 0 } } : {}),
    cluster: {
      servers: [natsUrl(nats, index)],
      nodeId: options.nodeId ?? `node${index}`,
      heartbeatMs: options.heartbeatMs ?? 200,
      countTimeoutMs: 2_000, // a busy machine answers a count later than the 1 s default
    },
    agents: options.agents ?? [],
  });
}

/** How {@link clusterEmd} starts a node. */
export interface ClusterEmdOptions {
  /** The event space (emd's name argument). */
  readonly name: string;
  /** `--cluster-node`. */
  readonly nodeId: string;
  /**
   * More emd flags.
   * @default {[]}
   */
  readonly flags?: string[];
}

/** Starts `emd --cluster … --cluster-node …` as node `index` of a cluster on `nats`. */
export function clusterEmd(
  nats: NatsCluster,
  index: number,
  options: ClusterEmdOptions,
): Promise<EmdProcess> {
  return startEmd(options.name, [
    "--cluster",
    natsUrl(nats, index),
    "--cluster-node",
    options.nodeId,
    ...options.flags ?? [],
  ]);
}
