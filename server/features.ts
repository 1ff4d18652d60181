import { coreCommands } from "./core_commands.ts";
import type { FeatureFactory } from "./feature.ts";
import { agentsFeature } from "./agents/agents_feature.ts";
import { syncFeature } from "./sync/sync_feature.ts";
import { serverLogger } from "./_log.ts";
import { metricsFeature } from "./metrics/metrics_feature.ts";

/** Every capability of emd, in dispatch order. Add one line per new capability. */
export const FEATURES: readonly FeatureFactory[] = [
  (host) => ({ commands: coreCommands(host) }),
  (host) => agentsFeature(host, serverLogger("agents")),
  (host) => syncFeature(host, serverLogger("sync")),
  metricsFeature,
];
