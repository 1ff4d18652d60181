/**
 * The one entry of the NATS client packages (README dependency table): the link of a clustered
 * emd. Imported only by modules that server/delivery/open_bus.ts loads dynamically, so a single
 * emd and the one-shot tools never load it.
 */
export {
  connect,
  credsAuthenticator,
  type Msg,
  type NatsConnection,
  type Status,
  type Subscription as NatsSubscription,
} from "npm:@nats-io/transport-node@^3.4.0";
export { type KV, Kvm } from "npm:@nats-io/kv@^3.4.0";
