import { coreCommands } from "./core_commands.ts";
import type { CommandHandler, Feature, FeatureFactory } from "./feature.ts";
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

/**
 * The command handlers of `features` by letter.
 * @throws {Error} when two features handle one letter
 */
export function commandTable(
  features: readonly Feature[],
): Map<string, CommandHandler> {
  const handlers = new Map<string, CommandHandler>();
  for (const feature of features) {
    for (const [letter, handler] of feature.commands ?? []) {
      if (handlers.has(letter)) {
        throw new Error(`Two features handle command "${letter}"`);
      }
      handlers.set(letter, handler);
    }
  }
  return handlers;
}
