/**
 * A real 3-node `nats-server` cluster (Debian's package) with JetStream file storage for one test
 * file: ports chosen by nats-server itself on 127.0.0.1, its own temp directory and cluster name,
 * bounded readiness waits, clean stop. Nodes can be killed (`kill -9`) and started again on the
 * same ports and storage. Used by the cluster tests and `deno task bench`'s cluster workload.
 * @module
 */
import { type ProcessLog, spawnLogged } from "./_process_log.ts";

/** The ports one nats-server listens on, as it chose them. */
interface NatsPorts {
  readonly client: number;
  readonly route: number;
  readonly monitor: number;
}

/** One nats-server of the cluster. */
interface NatsNode {
  readonly name: string;
  readonly config: string;
  /** What it bound at its first start; a restart binds the same. */
  ports?: NatsPorts;
  child?: Deno.ChildProcess;
  /** The output of each run, the current one last. */
  readonly logs: ProcessLog[];
}

/** A running 3-node NATS cluster. */
export interface NatsCluster extends AsyncDisposable {
  /** `nats://127.0.0.1:P` of every node, comma-separated (emd's `--cluster` value). */
  readonly urls: string;
  /** Client ports of the nodes. */
  readonly ports: readonly number[];
  /** Kills node `index` with SIGKILL; resolves once it has exited. */
  kill(index: number): Promise<void>;
  /** Starts node `index` again (same ports, same storage); resolves once it is healthy. */
  start(index: number): Promise<void>;
  /** Everything node `index` logged. */
  log(index: number): string;
}

const READY_TIMEOUT_MS = 20_000;
/**
 * Where the first node's configured route points before the others exist: nats-server refuses a
 * JetStream cluster with no configured route, and nothing listens on port 1 (the others then
 * route to the first node's real port, and the cluster's own name keeps foreign routes out).
 */
const SEED_ROUTE = "nats-route://127.0.0.1:1";
/** What nats-server logs once it listens, each with the port it bound. */
const LISTENING = {
  client: /Listening for client connections on 127\.0\.0\.1:(\d+)/,
  route: /Listening for route connections on 127\.0\.0\.1:(\d+)/,
  monitor: /Starting http monitor on 127\.0\.0\.1:(\d+)/,
} as const;

/** True when `nats-server` is on PATH (tests skip, saying why, when it is not). */
export function hasNatsServer(): boolean {
  try {
    return new Deno.Command("nats-server", { args: ["--version"] })
      .outputSync().success;
  } catch {
    return false;
  }
}

/**
 * Starts three clustered nats-servers with JetStream; resolves once all report healthy. Each
 * binds ports of its own choosing (port -1): no port is picked first and bound later, so clusters
 * of test files running side by side cannot collide. The first node starts alone; the other two
 * route to the port it bound; then every node's config names the bound ports for its restarts.
 */
export async function startNatsCluster(): Promise<NatsCluster> {
  const dir = await Deno.makeTempDir({ prefix: "em_nats_" });
  const clusterName = `em_test_${crypto.randomUUID().slice(0, 8)}`;
  const nodes: NatsNode[] = [0, 1, 2].map((i) => ({
    name: `n${i + 1}`,
    config: `${dir}/n${i + 1}.conf`,
    logs: [],
  }));
  const cluster = new Cluster(dir, nodes);
  const configure = (node: NatsNode, routes: string[]) =>
    Deno.writeTextFile(node.config, config(dir, clusterName, node, routes));
  try {
    const [first, ...others] = nodes as [NatsNode, NatsNode, NatsNode];
    await configure(first, [SEED_ROUTE]);
    await cluster.spawnListening(first);
    for (const node of others) {
      await configure(node, [routeUrl(first)]);
    }
    await Promise.all(others.map((node) => cluster.spawnListening(node)));
    for (const node of nodes) { // for restarts: the bound ports, routes to both others
      await configure(node, nodes.filter((o) => o !== node).map(routeUrl));
    }
    await Promise.all(nodes.map((node) => cluster.healthy(node)));
  } catch (error) {
    await cluster[Symbol.asyncDispose]();
    throw error;
  }
  return cluster;
}

/** `nats-route://` of a node that has listened. */
function routeUrl(node: NatsNode): string {
  return `nats-route://127.0.0.1:${node.ports!.route}`;
}

/** A node's config: the ports it bound (or -1: its choice) and its routes. */
function config(
  dir: string,
  clusterName: string,
  node: NatsNode,
  routes: string[],
): string {
  const { client = -1, route = -1, monitor = -1 } = node.ports ?? {};
  return [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${client}`,
    `http: 127.0.0.1:${monitor}`,
    `jetstream { store_dir: "${dir}/${node.name}", max_memory_store: 64MB, max_file_store: 256MB }`,
    `cluster { name: ${clusterName}, listen: 127.0.0.1:${route}, routes: [${
      routes.join(", ")
    }] }`,
  ].join("\n") + "\n";
}

class Cluster implements NatsCluster {
  #dir: string;
  #nodes: NatsNode[];

  constructor(dir: string, nodes: NatsNode[]) {
    this.#dir = dir;
    this.#nodes = nodes;
  }

  get urls(): string {
    return this.ports.map((port) => `nats://127.0.0.1:${port}`).join(",");
  }

  get ports(): number[] {
    return this.#nodes.map((node) => node.ports!.client);
  }

  log(index: number): string {
    return textOf(this.#nodes[index]!);
  }

  spawn(node: NatsNode): void {
    const { child, log } = spawnLogged("nats-server", ["-c", node.config]);
    node.child = child;
    node.logs.push(log);
  }

  /** Spawns a node's first run; resolves (bounded) once its log names the ports it bound. */
  async spawnListening(node: NatsNode): Promise<void> {
    this.spawn(node);
    node.ports = await listening(node);
  }

  /** Waits (bounded) until the node's monitor says healthy, JetStream included. */
  async healthy(node: NatsNode): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const response = await fetch(
        `http://127.0.0.1:${node.ports!.monitor}/healthz`,
      ).catch(() => undefined);
      await response?.body?.cancel();
      if (response?.status === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 100)); // polling a process we started
    }
    throw new Error(`nats-server ${node.name} not healthy: ${textOf(node)}`);
  }

  async kill(index: number): Promise<void> {
    const node = this.#nodes[index]!;
    await this.#stop(node, "SIGKILL");
  }

  async start(index: number): Promise<void> {
    const node = this.#nodes[index]!;
    if (node.child !== undefined) return;
    this.spawn(node);
    await listening(node); // it bound its ports again (or exited saying why): not another's
    await this.healthy(node);
  }

  async #stop(node: NatsNode, signal: Deno.Signal): Promise<void> {
    const child = node.child;
    if (child === undefined) return;
    node.child = undefined;
    try {
      child.kill(signal);
    } catch { /* exited already */ }
    await child.status;
    await node.logs.at(-1)!.ended;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#nodes.map((node) => this.#stop(node, "SIGTERM")));
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/** The ports a node's current run says it bound; bounded; rejects when it exits first. */
async function listening(node: NatsNode): Promise<NatsPorts> {
  const log = node.logs.at(-1)!;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const port = async (pattern: RegExp) =>
    Number(
      (await log.match(
        pattern,
        `nats-server ${node.name} listening`,
        Math.max(0, deadline - Date.now()),
      ))[1],
    );
  return {
    client: await port(LISTENING.client),
    route: await port(LISTENING.route),
    monitor: await port(LISTENING.monitor),
  };
}

/** Everything a node logged, over all its runs. */
function textOf(node: NatsNode): string {
  return node.logs.map((log) => log.text).join("");
}
