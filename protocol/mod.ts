/**
 * The em wire codec: framing, escapes, messages, names, hello. Pure: bytes and strings in, values
 * out; no I/O, no clocks.
 * @module
 */
export { EmError, type EmErrorCode } from "./em_error.ts";
export {
  DEFAULT_LIMITS,
  type Limits,
  MAX_LINE_BYTES,
  MAX_PARAM_CHARS,
  PROTOCOL_MAJOR,
  PROTOCOL_VERSION,
  PROTOCOL_VERSIONS,
} from "./limits.ts";
export { LineFramer } from "./line_framer.ts";
export { isPlainTrigger, TriggerRunScanner } from "./trigger_run.ts";
export {
  decodeParam,
  encodeParam,
  escapeBytes,
  isParamByte,
  unescapeBytes,
} from "./escape.ts";
export {
  type Block,
  type DecodeFault,
  decodeMessage,
  type DecodeResult,
  encodeMessage,
  findOption,
  isLetter,
  isRequired,
  type Message,
  unknownRequiredOption,
} from "./message.ts";
export { assertName, isValidExtendedName, isValidName } from "./names.ts";
export {
  COMMANDS,
  FLAG_RECEIVE,
  type Hello,
  HELLO_OPTIONS,
  helloBlocks,
  isCompatible,
  parseFlags,
  parseHello,
} from "./hello.ts";
export {
  agreedMaxMessage,
  CallError,
  compilePattern,
  DATA_COMMANDS,
  DEFAULT_MAX_MESSAGE_BYTES,
  FAILURES,
  isValidPattern,
  isValidRequestId,
  jsonParam,
  type JsonValue,
  MAX_MESSAGE_OPTION,
  maxMessageOf,
  parseJsonParam,
} from "./data.ts";
export {
  encodeSyncReply,
  encodeSyncRequest,
  isSyncRequestLetter,
  isValidToken,
  MAX_SYNC_COUNT,
  MAX_TTL_MS,
  parseSyncReply,
  parseSyncRequest,
  SYNC_COMMANDS,
  SYNC_HELLO_OPTION,
  SYNC_VERSION,
  type SyncFault,
  type SyncReply,
  type SyncRequest,
  syncVersionOf,
} from "./sync.ts";
export {
  AUTH_OPTIONS,
  authProof,
  type AuthRole,
  importSecret,
  isNonce,
  isProof,
  newNonce,
  NONCE_BYTES,
  nonceOf,
  type ProofInput,
  proofOf,
  proofsEqual,
} from "./auth.ts";
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
