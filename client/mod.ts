/**
 * The em client: connect, wait, trigger, quit.
 * @module
 */
export { connect, type ConnectOptions, type EmClient } from "./client.ts";
export type { WaitOptions } from "./_deadline.ts";
export type { DataEvent, Subscription } from "./event_stream.ts";
