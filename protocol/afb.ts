import type { JsonValue } from "./data.ts";

/** The WebSocket subprotocol of AGL's application framework that em speaks. */
export const AFB_SUBPROTOCOL = "x-afb-ws-json1";

/** Message codes of x-afb-ws-json1: the first element of each JSON array. */
export const AFB_CODES = Object.freeze({
  CALL: 2,
  REPLY: 3,
  ERROR: 4,
  EVENT: 5,
});

/** A decoded x-afb-ws-json1 message from a client. */
export type AfbMessage =
  | {
    readonly kind: "call";
    /** The ID as JSON text, echoed unchanged in the reply. */
    readonly idJson: string;
    /** `api/verb`. */
    readonly verb: string;
    readonly args: JsonValue;
    /** The optional fifth element. */
    readonly token?: string;
  }
  | { readonly kind: "reply"; readonly idJson: string }
  | { readonly kind: "event"; readonly name: string; readonly data: JsonValue };

/** Why a message could not be decoded; `idJson` when a call's ID could be read (answer it). */
export interface AfbFault {
  readonly fault: string;
  readonly idJson?: string;
}

/**
 * Decodes one text message: `[2,ID,"api/verb",ARGS(,TOKEN)]`, `[3|4,ID,…]` or `[5,NAME,DATA]`.
 * Liberal in what it accepts: an ID may be a string or a number, ARGS any JSON (missing: null).
 */
export function decodeAfbMessage(text: string): AfbMessage | AfbFault {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { fault: "not JSON" };
  }
  if (!Array.isArray(value) || typeof value[0] !== "number") {
    return { fault: "not an array starting with a message code" };
  }
  const [code, id] = value as [number, unknown, ...unknown[]];
  const idJson = typeof id === "string" || Number.isFinite(id)
    ? JSON.stringify(id)
    : undefined;
  switch (code) {
    case AFB_CODES.CALL:
      return decodeCall(value, idJson);
    case AFB_CODES.REPLY:
    case AFB_CODES.ERROR:
      return idJson === undefined
        ? { fault: "reply without an ID" }
        : { kind: "reply", idJson };
    case AFB_CODES.EVENT:
      if (typeof value[1] !== "string") {
        return { fault: "event without a name" };
      }
      return { kind: "event", name: value[1], data: value[2] ?? null };
    default:
      return { fault: `unknown message code ${code}` };
  }
}

function decodeCall(
  value: unknown[],
  idJson: string | undefined,
): AfbMessage | AfbFault {
  if (idJson === undefined) return { fault: "call without an ID" };
  const [, , verb, args = null, token] = value;
  if (typeof verb !== "string" || value.length > 5) {
    return { fault: "call without an api/verb string", idJson };
  }
  if (token !== undefined && token !== null && typeof token !== "string") {
    return { fault: "call with a token that is not a string", idJson };
  }
  return {
    kind: "call",
    idJson,
    verb,
    args: args as JsonValue,
    ...(typeof token === "string" ? { token } : {}),
  };
}

/** `[3,ID,{"jtype":"afb-reply","request":{"status":"success"},"response":DATA}]`, one line. */
export function encodeAfbReply(idJson: string, dataJson: string): string {
  return `[3,${idJson},{"jtype":"afb-reply","request":{"status":"success"},"response":${dataJson}}]`;
}

/** `[4,ID,{"jtype":"afb-reply","request":{"status":CODE,"info":MESSAGE}}]`, one line. */
export function encodeAfbError(
  idJson: string,
  status: string,
  info: string,
): string {
  return `[4,${idJson},{"jtype":"afb-reply","request":{"status":${
    JSON.stringify(status)
  },"info":${JSON.stringify(info)}}}]`;
}

/** `[5,NAME,{"jtype":"afb-event","event":NAME,"data":DATA}]`, one line; no data: null. */
export function encodeAfbEvent(name: string, dataJson?: string): string {
  const quoted = JSON.stringify(name);
  return `[5,${quoted},{"jtype":"afb-event","event":${quoted},"data":${
    dataJson ?? "null"
  }}]`;
}
