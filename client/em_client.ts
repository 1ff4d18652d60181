/**
 * What a connection to an em server offers ({@link EmClient}) and how to open one
 * ({@link ConnectOptions}); `connect()` in connect.ts implements both.
 * @module
 */
import type { EmError, Hello, JsonValue } from "../protocol/line_codec.ts";
import type { WaitOptions } from "./_deadline.ts";
import type { ClientTlsOptions } from "./_socket.ts";
import type { Subscription } from "./event_stream.ts";
import type { SyncClient, TriggerOptions } from "./sync.ts";

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** The server's TCP port; required unless `servers` is given. */
  readonly port?: number;
  /**
   * Several servers (the nodes of a cluster, docs/CLUSTER.md) in place of `hostname` and `port`:
   * connects to the first that answers and, when that connection ends without `close()`, fails
   * over to the next (see `failoverTimeoutMs`), restoring the receive flag, subscriptions and waits.
   * @default {undefined}
   */
  readonly servers?: readonly ServerAddress[];
  /**
   * With `servers`: how long to keep trying the servers after a connection was lost, before waits
   * and streams fail and `closed` settles.
   * @default {30000}
   */
  readonly failoverTimeoutMs?: number;
  /**
   * The server's host name or address.
   * @default {"127.0.0.1"}
   */
  readonly hostname?: string;
  /**
   * Receive triggers (flag bit 1): needed for `wait`, `next` and `triggers`.
   * @default {false}
   */
  readonly receive?: boolean;
  /** Application name sent in the hello (`a` option). */
  readonly appName?: string;
  /**
   * Milliseconds to connect and exchange hellos.
   * @default {10000}
   */
  readonly connectTimeoutMs?: number;
  /**
   * Triggers remembered for `wait`/`next` before the oldest are dropped.
   * @default {10000}
   */
  readonly maxRememberedTriggers?: number;
  /** Aborting cancels the connect. */
  readonly signal?: AbortSignal;
  /**
   * Largest message accepted from a 1.2 server (hello option `m`); the smaller offer wins.
   * @default {524288}
   */
  readonly maxMessageBytes?: number;
  /**
   * The server's shared secret: prove we know it, and check that the server does too
   * (docs/SECURITY.md). Connecting fails (code "auth") when only one side has a secret.
   */
  readonly secret?: string | Uint8Array;
  /** Speak TLS: `true` trusts the system's authorities, `{ caCerts }` the given ones (PEM). */
  readonly tls?: boolean | ClientTlsOptions;
}

/** One server of {@link ConnectOptions.servers}. */
export interface ServerAddress {
  /**
   * Host name or address.
   * @default {"127.0.0.1"}
   */
  readonly hostname?: string;
  /** TCP port. */
  readonly port: number;
}

/** A connection to an em server; the sync methods are described in {@link SyncClient}. */
export interface EmClient extends AsyncDisposable, SyncClient {
  /** The server's hello. */
  readonly server: Hello;
  /** True when connected with `receive: true`. */
  readonly receiving: boolean;
  /** Settles with the reason once the connection has closed. */
  readonly closed: Promise<EmError>;
  /**
   * EM's wait: true once `name` is triggered, false on timeout. Consumes remembered triggers up to
   * and including the first `name` and discards the others it passed.
   * @throws {TypeError} when not receiving or for a bad name
   * @throws {EmError} code "closed" when the connection ends first
   */
  wait(
    name: string,
    timeoutMs?: number,
    options?: WaitOptions,
  ): Promise<boolean>;
  /** Like `wait`, but takes only the first remembered `name` and discards nothing else. */
  next(name: string, options?: WaitOptions): Promise<boolean>;
  /** Every trigger of `name` from now on, as an async iterable; discards nothing. */
  triggers(
    name: string,
    options?: { signal?: AbortSignal },
  ): AsyncIterable<string>;
  /** Sends `T<name>`; resolves once written to the socket. */
  trigger(name: string): Promise<void>;
  /**
   * 1.2 sync: with `{ latch: true }`, triggers `name` and latches it (see `reset`); resolves once
   * the server has recorded it. A second argument that is exactly `{ latch: <boolean> }` is read as
   * these options, never as data.
   * @throws {EmError} code "protocol" when the server does not offer sync
   */
  trigger(name: string, options: TriggerOptions): Promise<void>;
  /**
   * 1.2: triggers `name` (a 1.2 name such as `door/front-open`) with JSON data.
   * @returns how many connections and agents received it
   * @throws {RangeError} when the message is over the agreed size limit
   * @throws {EmError} code "protocol" when the server speaks only 1.1
   */
  trigger(name: string, data: JsonValue): Promise<number>;
  /**
   * 1.2: calls an agent's verb (`api/verb`) with JSON arguments.
   * @returns the reply's data (`null` when it had none)
   * @throws {CallError} when the verb fails or does not exist (see `failure`)
   * @throws {EmError} code "protocol" when the server speaks only 1.1
   */
  call(verb: string, args?: JsonValue): Promise<JsonValue>;
  /**
   * 1.2: asks the server for events matching a name or pattern (`speed/*`: `*` is any run of
   * characters but `/`; `**` any run at all, so `**` is every event) and returns them as an async iterable. Twice is the same as once on the
   * server; each call gets its own stream. Needs `receive: true`. `unsubscribe()`, aborting
   * `signal` or leaving a `for await` loop ends the stream and, once no other stream of this
   * connection asked for the pattern, tells the server.
   * @throws {TypeError} when not receiving or for a bad pattern
   */
  subscribe(
    nameOrPattern: string,
    options?: { signal?: AbortSignal },
  ): Subscription;
  /** 1.2: ends every local stream of exactly `nameOrPattern` at once, then tells the server. */
  unsubscribe(nameOrPattern: string): Promise<void>;
  /**
   * Data events (and plain triggers) arriving from now on that match `pattern` (default: all),
   * without asking the server: for events an agent subscribed this connection to.
   */
  events(pattern?: string, options?: { signal?: AbortSignal }): Subscription;
  /** The message size agreed with the server in the hello (4096 with a 1.1 server). */
  readonly maxMessageBytes: number;
  /**
   * Asks the server to quit; it does so only if `serverName` is its name. A 1.1 server never
   * answers: resolves once sent. A 1.2 server answers: resolves once it has ended the connection
   * (it quit), rejects when it refused.
   * @throws {EmError} code "refused" (1.2) for a wrong name or a server that refuses every quit,
   * "timeout" when a 1.2 server does neither within `options.timeoutMs`
   */
  quit(serverName: string, options?: WaitOptions): Promise<void>;
  /** A round trip: resolves once the server has processed everything sent before. */
  flush(options?: WaitOptions): Promise<void>;
  /** Sends what is queued, lets the server see our end, then closes. Idempotent. */
  close(): Promise<void>;
}
