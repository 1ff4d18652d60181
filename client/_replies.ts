import {
  EmError,
  type EmErrorCode,
  type SyncReply,
} from "../protocol/line_codec.ts";

/** What the server's last `e` said about the connection (not about one request). */
export interface Refusal {
  readonly code: EmErrorCode;
  readonly text: string;
}

/**
 * Why a connection ended when its read side did: our own close, the server's close, or what the
 * server's last `e` refused.
 */
export function endReason(
  where: string,
  ending: { readonly closing: boolean; readonly refusal: Refusal | undefined },
): EmError {
  if (ending.closing) { // our close() sends our end first; the server's follows
    return new EmError("closed", `Connection to "${where}" closed`);
  }
  if (ending.refusal === undefined) {
    return new EmError(
      "closed",
      `Connection to "${where}" closed by the server`,
    );
  }
  const { code, text } = ending.refusal;
  return new EmError(code, `Refused by "${where}": ${text}`);
}

const SYNC_CODES: readonly EmErrorCode[] = [
  "protocol",
  "connect",
  "closed",
  "timeout",
  "auth",
  "refused",
  "failed",
  "storage",
];

/** The `EmError` of a sync request's `e` answer: its own code if em knows it, else "failed". */
export function syncError(reply: { code: string; text: string }): EmError {
  const code = (SYNC_CODES as readonly string[]).includes(reply.code)
    ? reply.code as EmErrorCode
    : "failed";
  return new EmError(code, reply.text);
}

/** A sync answer of a kind the request cannot have. */
export function unexpectedReply(reply: SyncReply): EmError {
  return new EmError(
    "protocol",
    `Unexpected sync answer "${reply.kind}" to request ${reply.id}`,
  );
}
