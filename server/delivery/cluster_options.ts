/** How an emd joins a cluster (`emd --cluster`); see docs/CLUSTER.md. */
export interface ClusterOptions {
  /** NATS server URLs, e.g. `["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]`. */
  readonly servers: readonly string[];
  /**
   * This node's id in logs and on the bus; unique per node.
   * @default {a random id}
   */
  readonly nodeId?: string;
  /**
   * A NATS credentials file (`.creds`: JWT and NKey seed) for the link.
   * @default {none}
   */
  readonly credsFile?: string;
  /**
   * User and password for the link (NATS `authorization { user, password }`).
   * @default {none}
   */
  readonly user?: string;
  /** The password that goes with `user`. @default {none} */
  readonly password?: string;
  /**
   * PEM file of the CA that signed the NATS servers' certificates; given, the link uses TLS.
   * @default {none}
   */
  readonly tlsCaFile?: string;
  /**
   * Copies of the cluster's state (the latches and holds buckets) JetStream keeps: 1, 3 or 5, at most the
   * NATS servers with JetStream. 3 survives the loss of one server.
   * @default {3}
   */
  readonly replicas?: number;
  /**
   * How often a node says it is alive; a node not heard for 3.5 heartbeats counts as gone.
   * @default {1000}
   */
  readonly heartbeatMs?: number;
  /**
   * How long a receiver count (`t`'s reply) waits for the other live nodes' counts.
   * @default {1000}
   */
  readonly countTimeoutMs?: number;
  /**
   * Publish the deliveries of one task (e.g. triggers of many clients read at once) as one NATS
   * message; false publishes each on its own (for comparisons).
   * @default {true}
   */
  readonly batch?: boolean;
  /**
   * How long a starting node keeps trying to open its JetStream buckets (nodes starting together
   * on a fresh cluster race while JetStream settles) before its start fails.
   * @default {15000}
   */
  readonly openTimeoutMs?: number;
}
