/**
 * The em wire codec: framing, escapes, messages, names, hello, and the WebSocket, HTTP-head and
 * afb codecs of emd's web transport. Pure: bytes and strings in, values out; no I/O, no clocks.
 * `line_codec.ts` is the EM line codec alone, a narrower front door for code that must load
 * little (client/, the one-shot tools).
 * @module
 */
export * from "./line_codec.ts";
export { isPlainTrigger, TriggerRunScanner } from "./trigger_run.ts";
export {
  headerHasToken,
  headerValue,
  type HttpHead,
  HttpHeadReader,
  MAX_HTTP_HEAD_BYTES,
  MAX_HTTP_HEADERS,
  parseHttpHead,
} from "./http_head.ts";
export {
  encodeMaskedWsFrame,
  encodeWsFrame,
  WS_ACCEPT_GUID,
  WS_CLOSE,
  WS_OPCODES,
  wsClosePayload,
  WsFrameDecoder,
  WsFrameError,
} from "./websocket.ts";
export {
  AFB_CODES,
  AFB_SUBPROTOCOL,
  type AfbFault,
  type AfbMessage,
  decodeAfbMessage,
  encodeAfbError,
  encodeAfbEvent,
  encodeAfbReply,
} from "./afb.ts";
