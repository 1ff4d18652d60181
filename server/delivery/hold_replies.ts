import { EmError, type SyncReply } from "../../protocol/mod.ts";

/** The answer to a request the cluster's records refuse. */
export function refused(id: string, text: string): SyncReply {
  return { kind: "error", id, code: "refused", text };
}

/** The answer to a request this node cannot serve (cut off, dropped). */
export function closed(id: string, text: string): SyncReply {
  return { kind: "error", id, code: "closed", text };
}

/** The answer to a request whose write failed: its EmError, or the store's error explained. */
export function failed(id: string, what: string, error: Error): SyncReply {
  const text = error instanceof EmError
    ? error.message
    : `Cannot ${what} in the cluster's store: ${error.message}`;
  return closed(id, text);
}
