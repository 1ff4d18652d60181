/**
 * emd as a library: start a server, embed it, stop it.
 * @module
 */
export { type EmServer, type ServerOptions, startServer } from "./server.ts";
export {
  configureLogging,
  type LoggingOptions,
  type LogLevel,
} from "./logging.ts";
