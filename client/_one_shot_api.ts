/**
 * What the one-shot client (client/one_shot.ts) takes and offers: its options and its calls.
 * @module
 */
import type { ClientTlsOptions } from "./_socket.ts";

/** Options of `connectOneShot`: those of `connect()` that a one-shot tool uses. */
export interface OneShotOptions {
  /** The server's host name or address. */
  readonly hostname: string;
  /** The server's TCP port. */
  readonly port: number;
  /** Application name sent in the hello (`a` option). */
  readonly appName?: string;
  /** Milliseconds to connect and exchange hellos. */
  readonly connectTimeoutMs: number;
  /**
   * Receive triggers (flag bit 1), needed for `waitAny`.
   * @default {false}
   */
  readonly receive?: boolean;
  /**
   * With `receive`: the names the first `waitAny` will wait for. When the server offers sync, the
   * wait's question (`w`) goes out with the hello, in the same write, and that `waitAny` takes
   * its answer (a call with other names asks anew).
   */
  readonly wait?: readonly string[];
  /** The server's shared secret (docs/SECURITY.md). */
  readonly secret?: string | Uint8Array;
  /** Speak TLS: `true` trusts the system's authorities, `{ caCerts }` the given ones. */
  readonly tls?: boolean | ClientTlsOptions;
}

/** Options of {@link OneShotClient.waitAny}. */
export interface OneShotWaitOptions {
  /** Called once the server has confirmed the wait (or a name fired first). */
  readonly onReady?: () => void;
}

/** What a one-shot tool does with its connection; the library client offers the same calls. */
export interface OneShotClient extends AsyncDisposable {
  /** Sends `T<name>`; resolves once written to the socket. */
  trigger(name: string): Promise<void>;
  /**
   * A round trip: resolves once the server has processed everything sent before. With `last`,
   * nothing is asked after it: once it is answered the client stops reading, so that closing it
   * next cancels no pending read (about 0.35 ms of a one-shot tool's close); a later flush or
   * wait throws a TypeError.
   */
  flush(options?: { timeoutMs?: number; last?: boolean }): Promise<void>;
  /** The first of `names` triggered (or latched), or null after `timeoutMs` (-1: never). */
  waitAny(
    names: readonly string[],
    timeoutMs: number,
    options?: OneShotWaitOptions,
  ): Promise<string | null>;
}
