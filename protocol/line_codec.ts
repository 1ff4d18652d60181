/**
 * The EM line protocol alone: framing, escapes, messages, names, hello, the 1.2 data, sync and
 * authentication messages. The second front door of protocol/, for code that speaks only EM
 * lines (the one-shot tools): it leaves out the WebSocket, HTTP-head and afb codecs that
 * protocol/mod.ts adds, so importing it loads fewer modules.
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
export { MAX_SLAB_TEXT, TEXT_SLAB_BYTES, textBytes } from "./text_bytes.ts";
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
