/** Matching thrown errors in `assert.rejects` / `assert.throws`. */
import assert from "node:assert/strict";
import { EmError } from "../../protocol/mod.ts";

/**
 * A validator for `assert.rejects(promise, isEmError(code, message))`: the error is an EmError of
 * `code`, with exactly `message` (a string) or matching it (a RegExp).
 */
export function isEmError(
  code: string,
  message?: string | RegExp,
): (error: unknown) => boolean {
  return (error: unknown): boolean => {
    assert.ok(error instanceof EmError, `not an EmError: ${error}`);
    assert.equal(error.code, code);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message !== undefined) assert.match(error.message, message);
    return true;
  };
}
