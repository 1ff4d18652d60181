/**
 * The em client: connect, wait, trigger, quit.
 * @module
 */
export {
  connect,
  type ConnectOptions,
  type EmClient,
  type ServerAddress,
} from "./connect.ts";
export type { ClientTlsOptions } from "./_socket.ts";
export type { WaitOptions } from "./_deadline.ts";
export type { DataEvent, Subscription } from "./event_stream.ts";
export {
  type EventPattern,
  PatternError,
  PatternSet,
  type TranslatedPattern,
  translateJavaPattern,
} from "./pattern_set.ts";
export {
  parseProperties,
  PropertiesError,
  type PropertyEntry,
} from "./properties.ts";
export {
  followFile,
  type FollowOptions,
  LineChunker,
  type LogFollower,
  readLineChunks,
} from "./log_follower.ts";
export {
  openTriggerQueue,
  type QueueEnd,
  type TriggerQueue,
  type TriggerQueueOptions,
} from "./trigger_queue.ts";
export type {
  BarrierOptions,
  Condition,
  Hold,
  LockOptions,
  SemaphoreOptions,
  SyncClient,
  TriggerOptions,
  WaitAnyOptions,
} from "./sync.ts";
