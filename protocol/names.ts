import { MAX_PARAM_CHARS } from "./limits.ts";

const NAME_1_1 = /^[A-Za-z0-9_]+$/;
const NAME_1_2 = /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/;

/** True for a protocol 1.1 event name: `[A-Za-z0-9_]+`, at most 255 characters. */
export function isValidName(name: string): boolean {
  return name.length <= MAX_PARAM_CHARS && NAME_1_1.test(name);
}

/**
 * True for a protocol 1.2 event name: 1.1 characters plus `/`, `-` and `.`, not starting with
 * one of those three (so `speed/speed-kmh-1Hz`), at most 255 characters.
 */
export function isValidExtendedName(name: string): boolean {
  return name.length <= MAX_PARAM_CHARS && NAME_1_2.test(name);
}

/**
 * Checks an event name and says why it is invalid.
 * @throws {TypeError} naming the event and the rule it breaks
 */
export function assertName(name: string, extended = false): void {
  if (extended ? isValidExtendedName(name) : isValidName(name)) return;
  const rule = extended
    ? "[A-Za-z0-9_./-], not starting with . / -"
    : "[A-Za-z0-9_]";
  throw new TypeError(
    `Invalid event name "${name}": use 1 to ${MAX_PARAM_CHARS} characters of ${rule}`,
  );
}
