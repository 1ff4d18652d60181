/**
 * em: a Deno-native event manager. Programs wait for named events, others trigger them, and the
 * em server (emd) wakes every waiter. Speaks EM protocol 1.1 and em's extensions (1.2).
 *
 * @example Wait for an event another program triggers
 * ```ts ignore
 * import { connect, startServer } from "./mod.ts";
 *
 * await using server = await startServer({ port: 0, name: "demo" });
 * await using waiter = await connect({ port: server.addr.port, receive: true });
 * await using sender = await connect({ port: server.addr.port });
 * await waiter.flush();
 * await sender.trigger("build_done");
 * console.log(await waiter.wait("build_done", 1_000)); // true
 * ```
 * @module
 */
export {
  type ClientTlsOptions,
  connect,
  type ConnectOptions,
  type DataEvent,
  type EmClient,
  type ServerAddress,
  type Subscription,
  type WaitOptions,
} from "./client/mod.ts";
export type {
  BarrierOptions,
  Condition,
  Hold,
  LockOptions,
  SemaphoreOptions,
  SyncClient,
  TriggerOptions,
  WaitAnyOptions,
} from "./client/mod.ts";
export {
  type Agent,
  type AgentContext,
  type AgentEvent,
  type AgentRequest,
  defineAgent,
  EventDroppedError,
  type Verb,
} from "./server/mod.ts";
export {
  type ClusterOptions,
  configureLogging,
  type EmServer,
  type HttpHandler,
  type HttpRequestInfo,
  type LimitOptions,
  type LogFormat,
  type LoggingOptions,
  type LogLevel,
  type ServerHttpOptions,
  type ServerOptions,
  type ServerTlsOptions,
  startServer,
} from "./server/mod.ts";
export type { TapBatch, TappedEvent } from "./server/mod.ts";
export {
  Readiness,
  type ReadinessCheck,
  type ReadinessState,
} from "./server/mod.ts";
export type {
  AgentEventStats,
  AgentStats,
  BarrierStats,
  ClusterLinkStats,
  ConnectionStats,
  DisconnectReason,
  DisconnectRecord,
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
} from "./server/mod.ts";
export {
  type LeaseRecord,
  memoryStore,
  openSqliteStore,
  type SyncStore,
} from "./server/mod.ts";
export { CallError, type JsonValue } from "./protocol/mod.ts";
export {
  EmError,
  type EmErrorCode,
  type Hello,
  isValidName,
  MAX_LINE_BYTES,
  MAX_PARAM_CHARS,
  PROTOCOL_VERSION,
  PROTOCOL_VERSIONS,
} from "./protocol/mod.ts";
