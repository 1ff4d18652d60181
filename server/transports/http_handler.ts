/**
 * Answers one HTTP request, or returns undefined when the path is not its own (the next handler
 * is asked; when none answers, 404). Runs for every request but the WebSocket endpoint `/api`.
 */
export type HttpHandler = (
  request: Request,
  info: HttpRequestInfo,
) => Response | undefined | Promise<Response | undefined>;

/** What a handler knows about a request besides the Request itself. */
export interface HttpRequestInfo {
  /** `host:port` of the peer. */
  readonly peer: string;
}
