/**
 * emd as a library: start a server, embed it, stop it.
 * @module
 */
export type { EmServer } from "./em_server.ts";
export { startServer } from "./start_server.ts";
export type {
  ServerHttpOptions,
  ServerOptions,
  ServerTlsOptions,
} from "./server_options.ts";
export type {
  HttpHandler,
  HttpRequestInfo,
} from "./transports/http_handler.ts";
export { limitAllowsZero, type LimitOptions } from "./limits.ts";
export type { ClusterOptions } from "./delivery/cluster_options.ts";
export {
  configureLogging,
  type LogFormat,
  type LoggingOptions,
  type LogLevel,
} from "./logging.ts";
export {
  type Agent,
  type AgentContext,
  type AgentEvent,
  type AgentRequest,
  defineAgent,
  EventDroppedError,
  type Verb,
} from "./agents/agent.ts";
export {
  type LeaseRecord,
  memoryStore,
  openSqliteStore,
  type SyncStore,
} from "./sync/store.ts";
export type { TapBatch, TappedEvent } from "./metrics/event_tap.ts";
export {
  Readiness,
  type ReadinessCheck,
  type ReadinessState,
} from "./metrics/readiness.ts";
export type {
  AgentEventStats,
  AgentStats,
  BarrierStats,
  ClusterLinkStats,
  ConnectionStats,
  HolderStats,
  PeerStats,
  ProcessStats,
  SemaphoreStats,
  ServerInfo,
  ServerStats,
  SubscriptionStats,
  SyncStats,
  TrafficStats,
  WaiterStats,
} from "./metrics/stats.ts";
export type { DisconnectReason, DisconnectRecord } from "./metrics/counters.ts";
