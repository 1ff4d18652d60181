import { EmError } from "../../protocol/mod.ts";
import type { ClusterLatches } from "./bus.ts";
import { type KV, Kvm, type NatsConnection } from "./_nats.ts";

const encoder = new TextEncoder();

/**
 * Latched events of a cluster in a JetStream key-value bucket (`em_<name>_latches`, file storage,
 * replicated): a latch is acknowledged once the bucket has stored it, so it survives the loss of
 * the node that took it, of one NATS server of three, and a restart of the whole NATS cluster.
 * Look-ups ask the bucket's leader, never a replica directly ("direct get"): a replica that is
 * behind would answer a latch that was set, or reset, and acknowledged on another node as it was
 * before.
 */
export class NatsLatches implements ClusterLatches {
  #kv: KV;
  #connected: () => boolean;

  private constructor(kv: KV, connected: () => boolean) {
    this.#kv = kv;
    this.#connected = connected;
  }

  /** Opens (creates when missing) the bucket of `serverName`. */
  static async open(
    nc: NatsConnection,
    serverName: string,
    options: { replicas: number; connected: () => boolean },
  ): Promise<NatsLatches> {
    const kv = await new Kvm(nc).create(`em_${serverName}_latches`, {
      replicas: options.replicas,
      storage: "file",
      history: 1,
      // @nats-io/kv turns direct gets on by default; false also reads an existing bucket that
      // allows them through its leader.
      allow_direct: false,
    });
    return new NatsLatches(kv, options.connected);
  }

  async set(name: string): Promise<void> {
    await this.#run(`latch "${name}"`, () => this.#kv.put(keyOf(name), "1"));
  }

  async clear(name: string): Promise<void> {
    await this.#run(`reset "${name}"`, () => this.#kv.delete(keyOf(name)));
  }

  async firstSet(names: readonly string[]): Promise<string | undefined> {
    return await this.#run(`look up "${names.join(",")}"`, async () => {
      const entries = await Promise.all(
        names.map((name) => this.#kv.get(keyOf(name))),
      );
      const index = entries.findIndex((entry) => entry?.operation === "PUT");
      return index === -1 ? undefined : names[index];
    });
  }

  async #run<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (!this.#connected()) {
      throw new EmError(
        "closed",
        `Cannot ${what}: not connected to the NATS cluster`,
      );
    }
    try {
      return await op();
    } catch (error) {
      throw new EmError(
        "closed",
        `Cannot ${what} in the cluster's store: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}

/**
 * A KV key for any name: `prefix`, a dot and the name's UTF-8 as base64url (keys allow few
 * characters). Latches use `n`, semaphores `s`, barriers `b`.
 */
export function keyOf(name: string, prefix = "n"): string {
  const base64 = btoa(String.fromCharCode(...encoder.encode(name)));
  return prefix + "." +
    base64.replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

/** The name a key of {@link keyOf} stands for. */
export function nameOf(key: string): string {
  const base64 = key.slice(key.indexOf(".") + 1).replaceAll("-", "+")
    .replaceAll("_", "/");
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}
