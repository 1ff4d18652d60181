import {
  EmError,
  type EmErrorCode,
  type Hello,
  isCompatible,
  type Message,
  parseHello,
} from "../protocol/mod.ts";

const ERROR_CODES: readonly EmErrorCode[] = ["protocol", "auth", "refused"];

/** The `EmError` code for a server's `e<code>`: its own if em knows it, else "refused". */
export function errorCode(code: string): EmErrorCode {
  return ERROR_CODES.find((known) => known === code) ?? "refused";
}

/** Reads a server's first hello: the hello, or why the client cannot talk to that server. */
export function readServerHello(
  message: Message,
  where: string,
): Hello | EmError {
  const hello = parseHello(message);
  if ("fault" in hello) {
    return new EmError("protocol", `Bad hello from "${where}": ${hello.fault}`);
  }
  if (!isCompatible(hello)) {
    return new EmError(
      "protocol",
      `Cannot talk to "${where}": it speaks protocol ${hello.major}.${hello.minor}`,
    );
  }
  return hello;
}
