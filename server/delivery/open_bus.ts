import {
  type Bus,
  type BusHost,
  type ClusterCalls,
  type ClusterHolds,
  type ClusterLatches,
  type Delivery,
  LocalBus,
  type RemoteHandler,
} from "./bus.ts";
import type { ClusterLinkStats } from "../metrics/stats.ts";

/**
 * The bus for a server: a {@link LocalBus} without `options.cluster`; with it, the NATS bus,
 * whose module (and the NATS packages) is imported only then.
 */
export function openBus(host: BusHost): Bus {
  if (host.options.cluster === undefined) return new LocalBus();
  return new DeferredBus(
    import("./nats_bus.ts").then(({ NatsBus }) => new NatsBus(host)),
  );
}

/** A bus whose implementation is still being loaded; deliveries before it is ready are dropped. */
class DeferredBus implements Bus {
  readonly ready: Promise<void>;
  readonly clustered = true;
  #bus: Bus | undefined;
  #loading: Promise<Bus>;
  #handlers: [readonly Delivery["kind"][], RemoteHandler][] = [];

  constructor(loading: Promise<Bus>) {
    this.#loading = loading;
    this.ready = loading.then(async (bus) => {
      for (const [kinds, handler] of this.#handlers) {
        bus.onRemote(kinds, handler);
      }
      await bus.ready;
      this.#bus = bus;
    });
  }

  publish(delivery: Delivery, count?: boolean): Promise<number> | undefined {
    return this.#bus?.publish(delivery, count);
  }

  get latches(): ClusterLatches | undefined {
    return this.#bus?.latches;
  }

  get calls(): ClusterCalls | undefined {
    return this.#bus?.calls;
  }

  get holds(): ClusterHolds | undefined {
    return this.#bus?.holds;
  }

  stats(): ClusterLinkStats {
    return this.#bus?.stats?.() ?? {
      connected: false,
      reconnects: 0,
      deliveriesOut: 0,
      deliveriesIn: 0,
    };
  }

  onRemote(kinds: readonly Delivery["kind"][], handler: RemoteHandler): void {
    this.#handlers.push([kinds, handler]);
  }

  async close(): Promise<void> {
    const bus = await this.#loading.catch(() => undefined);
    await bus?.close();
  }
}
