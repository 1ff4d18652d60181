/**
 * A real 3-node `nats-server` cluster (Debian's package) with JetStream file storage for one test
 * file: free 127.0.0.1 ports, its own temp directory, bounded readiness waits, clean stop. Nodes
 * can be killed (`kill -9`) and started again on the same ports and storage. Used by the cluster
 * tests and `deno task bench`'s cluster workload.
 * @module
 */

/** A port nothing listens on now (taken and released at once). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** One nats-server of the cluster. */
interface NatsNode {
  readonly name: string;
  readonly port: number;
  readonly routePort: number;
  readonly monitorPort: number;
  readonly config: string;
  child?: Deno.ChildProcess;
  pumps?: Promise<void>;
  log: string;
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

const decoder = new TextDecoder();
const READY_TIMEOUT_MS = 20_000;

/** True when `nats-server` is on PATH (tests skip, saying why, when it is not). */
export function hasNatsServer(): boolean {
  try {
    return new Deno.Command("nats-server", { args: ["--version"] })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Starts three clustered nats-servers with JetStream; resolves once all report healthy. */
export async function startNatsCluster(): Promise<NatsCluster> {
  const dir = await Deno.makeTempDir({ prefix: "em_nats_" });
  const nodes: NatsNode[] = [0, 1, 2].map((i) => ({
    name: `n${i + 1}`,
    port: closedPort(),
    routePort: closedPort(),
    monitorPort: closedPort(),
    config: `${dir}/n${i + 1}.conf`,
    log: "",
  }));
  for (const node of nodes) {
    const routes = nodes.filter((other) => other !== node)
      .map((other) => `nats-route://127.0.0.1:${other.routePort}`);
    await Deno.writeTextFile(
      node.config,
      [
        `server_name: ${node.name}`,
        `listen: 127.0.0.1:${node.port}`,
        `http: 127.0.0.1:${node.monitorPort}`,
        `jetstream { store_dir: "${dir}/${node.name}", max_memory_store: 64MB, max_file_store: 256MB }`,
        `cluster { name: em_test, listen: 127.0.0.1:${node.routePort}, routes: [${
          routes.join(", ")
        }] }`,
      ].join("\n") + "\n",
    );
  }
  const cluster = new Cluster(dir, nodes);
  try {
    for (const node of nodes) cluster.spawn(node);
    await Promise.all(nodes.map((node) => cluster.healthy(node)));
  } catch (error) {
    await cluster[Symbol.asyncDispose]();
    throw error;
  }
  return cluster;
}

class Cluster implements NatsCluster {
  #dir: string;
  #nodes: NatsNode[];

  constructor(dir: string, nodes: NatsNode[]) {
    this.#dir = dir;
    this.#nodes = nodes;
  }

  get urls(): string {
    return this.#nodes.map((node) => `nats://127.0.0.1:${node.port}`).join(
      ",",
    );
  }

  get ports(): number[] {
    return this.#nodes.map((node) => node.port);
  }

  log(index: number): string {
    return this.#nodes[index]!.log;
  }

  spawn(node: NatsNode): void {
    const child = new Deno.Command("nats-server", {
      args: ["-c", node.config],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    node.child = child;
    node.pumps = Promise.all(
      [child.stdout, child.stderr].map(async (stream) => {
        for await (const chunk of stream) node.log += decoder.decode(chunk);
      }),
    ).then(() => {});
  }

  /** Waits (bounded) until the node's monitor says healthy, JetStream included. */
  async healthy(node: NatsNode): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const response = await fetch(
        `http://127.0.0.1:${node.monitorPort}/healthz`,
      ).catch(() => undefined);
      await response?.body?.cancel();
      if (response?.status === 200) return;
      await new Promise((resolve) => setTimeout(resolve, 100)); // polling a process we started
    }
    throw new Error(`nats-server ${node.name} not healthy: ${node.log}`);
  }

  async kill(index: number): Promise<void> {
    const node = this.#nodes[index]!;
    await this.#stop(node, "SIGKILL");
  }

  async start(index: number): Promise<void> {
    const node = this.#nodes[index]!;
    if (node.child !== undefined) return;
    this.spawn(node);
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
    await node.pumps;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#nodes.map((node) => this.#stop(node, "SIGTERM")));
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
