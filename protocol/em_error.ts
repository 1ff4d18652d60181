/** What kind of failure an {@link EmError} reports. */
export type EmErrorCode =
  | "protocol"
  | "connect"
  | "closed"
  | "timeout"
  | "auth"
  | "refused"
  | "failed"
  | "storage";

/** A runtime failure of em: a peer broke the protocol, a connection failed or closed, a wait timed out. */
export class EmError extends Error {
  /** What kind of failure this is; stable across versions, unlike the message. */
  readonly code: EmErrorCode;
  /**
   * Creates an error of one kind.
   * @param code what kind of failure
   * @param message what was attempted and what went wrong
   * @param options `cause` keeps the underlying error
   */
  constructor(code: EmErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EmError";
    this.code = code;
  }
}
