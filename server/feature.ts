import type { Block, Message } from "../protocol/mod.ts";
import type { Session } from "./session.ts";
import type { ServerOptions } from "./server_options.ts";
import type { HttpHandler } from "./transports/http_handler.ts";
import type { Counters } from "./metrics/counters.ts";
import type { FeatureStats, ServerStats } from "./metrics/stats.ts";
import type { Readiness } from "./metrics/readiness.ts";
import type { Bus } from "./delivery/bus.ts";

/** Handles one decoded command from a session that has said hello. */
export type CommandHandler = (session: Session, message: Message) => void;

/** What a server capability (core, agents, sync, auth…) can use of the server. */
export interface FeatureHost {
  /** The server's name. */
  readonly name: string;
  /** The options the server was started with (each feature reads its own fields). */
  readonly options: ServerOptions;
  /** Sessions that have said hello, and those still saying it. */
  readonly sessions: ReadonlySet<Session>;
  /** Delivers an encoded frame of `T<name>\n` lines to every receiving session; returns how many. */
  fanOut(frame: Uint8Array, lines?: number, from?: string): number;
  /** The server's running totals and event tap (absent in tests that need none). */
  readonly counters?: Counters;
  /** The server's report (`emd/stats`, `/metrics`); absent in tests that need none. */
  stats?(detail?: boolean): ServerStats;
  /** Conditions of `/readyz`; a capability adds its own (e.g. "connected to the cluster"). */
  readonly readiness?: Readiness;
  /** Where deliveries go beyond this process (absent: nowhere, as for one emd). */
  readonly bus?: Bus;
  /** Stops the server. */
  quit(reason: string): void;
}

/**
 * One capability of the server: its commands and its hooks. Features are listed in
 * `server/features.ts`; a new capability adds one entry there and lives in its own folder.
 */
export interface Feature {
  /** Commands this feature handles, by letter. Letters are unique across features. */
  readonly commands?: ReadonlyMap<string, CommandHandler>;
  /** Settles once the feature is ready (e.g. agents initialised); a rejection stops the start. */
  readonly ready?: Promise<void>;
  /** Options this feature adds to the server's hello (e.g. the largest message it accepts). */
  helloOptions?(): Block[];
  /** Called once a session's hello is accepted, with that hello (its options). */
  onHello?(session: Session, hello: Message): void;
  /** Called once when a session's connection has closed: release what it held. */
  onClose?(session: Session): void;
  /** What this feature adds to the server's report (`emd/stats`, `/metrics`). */
  report?(): FeatureStats;
  /** Answers HTTP requests on the server's HTTP listener (undefined: not this feature's path). */
  readonly serveHttp?: HttpHandler;
  /** Called once when the server stops. */
  stop?(): void | Promise<void>;
}

/** Creates a feature for one server. */
export type FeatureFactory = (host: FeatureHost) => Feature;
