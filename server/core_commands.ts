import {
  COMMANDS,
  isValidName,
  type Message,
  parseFlags,
  unknownRequiredOption,
} from "../protocol/mod.ts";
import type { Session } from "./session.ts";
import type { CommandHandler, FeatureHost } from "./feature.ts";

const encoder = new TextEncoder();

/** The protocol 1.1 commands, plus ping; later capabilities add their own tables. */
export function coreCommands(host: FeatureHost): Map<string, CommandHandler> {
  return new Map<string, CommandHandler>([
    [COMMANDS.FLAGS, (session, message) => {
      if (rejectsOptions(session, message, "")) return;
      const flags = parseFlags(message.command);
      if (typeof flags !== "number") return session.drop(flags.fault);
      session.setFlags(flags);
    }],
    [COMMANDS.TRIGGER, (session, message) => {
      if (rejectsOptions(session, message, "")) return;
      const name = message.command.params[0] ?? "";
      if (message.command.params.length !== 1 || !isValidName(name)) {
        return session.drop(
          `bad event name "${message.command.params.join(",")}"`,
        );
      }
      host.fanOut(encoder.encode(`T${name}\n`), 1, session.peer); // only with ignorable options
    }],
    [COMMANDS.QUIT, (session, message) => {
      if (rejectsOptions(session, message, "")) return;
      const name = message.command.params.join(",");
      if (host.options.remoteQuit === false) {
        return refuseQuit(session, "quit over the network is disabled");
      }
      if (name !== host.name) {
        return refuseQuit(session, `wrong server name "${name}"`);
      }
      host.quit(`quit requested by ${session.peer}`);
    }],
    [COMMANDS.HELLO, (session) => session.drop("a second hello")],
    [COMMANDS.PING, (session, message) => {
      session.reply(COMMANDS.PING, message.command.params);
    }],
  ]);
}

/**
 * Logs a refused quit and drops it, as EM did; a 1.2 peer is also told why (`erefused,…`), so
 * that emquit can say so. The connection stays open.
 */
function refuseQuit(session: Session, why: string): void {
  session.drop(`refused quit: ${why}`);
  if ((session.hello?.minor ?? 0) < 2) return;
  session.sendError("refused", why[0]!.toUpperCase() + why.slice(1));
}

/** Fails the session if the message carries an upper-case option the handler does not know. */
export function rejectsOptions(
  session: Session,
  message: Message,
  known: string,
): boolean {
  const unknown = unknownRequiredOption(message, known);
  if (unknown === undefined) return false;
  session.fail(`unknown option "${unknown}" on "${message.command.letter}"`);
  return true;
}
