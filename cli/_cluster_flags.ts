import type { ClusterOptions } from "../server/mod.ts";

/** emd's cluster flags (docs/CLUSTER.md), as parseArgs options. */
export const CLUSTER_FLAGS = {
  cluster: { type: "string" },
  "cluster-node": { type: "string" },
  "cluster-creds": { type: "string" },
  "cluster-user": { type: "string" },
  "cluster-ca": { type: "string" },
  "cluster-replicas": { type: "string" },
} as const;

/** Their lines in emd's help. */
export const CLUSTER_HELP = `Cluster (docs/CLUSTER.md):
  --cluster URLS          join the emd nodes of this server_name over NATS:
                          nats://HOST:PORT[,nats://HOST2:PORT2…]; NATS is
                          loaded only with this flag
  --cluster-node ID       this node's id in logs (default: random)
  --cluster-creds PATH    NATS credentials file (.creds) for the link
  --cluster-user USER     NATS user; the password comes from EM_CLUSTER_PASSWORD
  --cluster-ca PATH       CA (PEM) of the NATS servers' certificates: TLS link
  --cluster-replicas N    copies JetStream keeps of latches and locks: 1, 3 (default)
                          or 5, at most the NATS servers with JetStream`;

/** The cluster options from emd's flags (undefined: no cluster); a usage error's reason if bad. */
export function readCluster(
  values: Record<string, unknown>,
): ClusterOptions | undefined | string {
  const urls = values.cluster;
  const others = [
    "cluster-node",
    "cluster-creds",
    "cluster-user",
    "cluster-ca",
    "cluster-replicas",
  ]
    .filter((flag) => values[flag] !== undefined);
  if (typeof urls !== "string") {
    return others.length === 0 ? undefined : `--${others[0]} needs --cluster`;
  }
  const servers = urls.split(",");
  const bad = servers.find((url) =>
    !/^(nats|tls):\/\/[^\s/,]+:\d{1,5}$/.test(url)
  );
  if (bad !== undefined) {
    return `invalid --cluster URL "${bad}": use nats://HOST:PORT[,nats://HOST:PORT…]`;
  }
  const node = values["cluster-node"];
  if (typeof node === "string" && !/^[A-Za-z0-9_-]{1,64}$/.test(node)) {
    return `invalid --cluster-node "${node}": use [A-Za-z0-9_-], at most 64`;
  }
  const replicas = values["cluster-replicas"];
  if (replicas !== undefined && !["1", "3", "5"].includes(String(replicas))) {
    return `invalid --cluster-replicas "${replicas}": use 1, 3 or 5`;
  }
  const user = values["cluster-user"] as string | undefined;
  const password = Deno.env.get("EM_CLUSTER_PASSWORD");
  return {
    servers,
    ...(typeof node === "string" ? { nodeId: node } : {}),
    ...(replicas === undefined ? {} : { replicas: Number(replicas) }),
    ...(values["cluster-creds"]
      ? { credsFile: values["cluster-creds"] as string }
      : {}),
    ...(user === undefined
      ? {}
      : { user, ...(password === undefined ? {} : { password }) }),
    ...(values["cluster-ca"]
      ? { tlsCaFile: values["cluster-ca"] as string }
      : {}),
  };
}
