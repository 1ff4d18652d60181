/** One entry of a Java properties file. */
export interface PropertyEntry {
  /** The key, escapes resolved. */
  readonly key: string;
  /** The value, escapes resolved. */
  readonly value: string;
  /** 1-based number of the line the (winning) entry starts on. */
  readonly line: number;
}

/** A properties file that cannot be read, with the 1-based line where it went wrong. */
export class PropertiesError extends SyntaxError {
  /** 1-based line number of the faulty entry. */
  readonly line: number;
  /**
   * Creates the error.
   * @param message what is wrong
   * @param line 1-based line number of the faulty entry
   */
  constructor(message: string, line: number) {
    super(message);
    this.name = "PropertiesError";
    this.line = line;
  }
}

const WHITESPACE = new Set([" ", "\t", "\f"]);
const ESCAPES: Readonly<Record<string, string>> = {
  t: "\t",
  n: "\n",
  r: "\r",
  f: "\f",
};

/**
 * Parses the text of a Java properties file as `java.util.Properties.load` does: `#` and `!`
 * comments, `=`, `:` or whitespace between key and value, leading whitespace ignored, escapes
 * `\t \n \r \f \uXXXX` and `\x` meaning `x`, a line ending in an odd number of backslashes
 * continued by the next (whose leading whitespace is dropped). A duplicate key: the last wins, as
 * in Java, and the entry takes the place and line number of that last definition.
 * @param text the file's text (a leading byte order mark is ignored)
 * @returns the entries in file order
 * @throws {PropertiesError} for a malformed `\uXXXX` escape, with its line number
 */
export function parseProperties(text: string): PropertyEntry[] {
  const entries = new Map<string, PropertyEntry>();
  for (const { text: logical, line } of logicalLines(text)) {
    const entry = splitEntry(logical, line);
    entries.delete(entry.key); // the last definition wins and takes its own place in the order
    entries.set(entry.key, entry);
  }
  return [...entries.values()];
}

/** Yields logical lines: comments and blank lines dropped, continuations joined. */
function* logicalLines(
  text: string,
): Generator<{ text: string; line: number }> {
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  let index = 0;
  while (index < lines.length) {
    const start = index;
    let current = stripLeading(lines[index++]!);
    if (current === "" || current[0] === "#" || current[0] === "!") continue;
    let joined = "";
    while (endsInOddBackslashes(current)) {
      joined += current.slice(0, -1);
      if (index >= lines.length) {
        current = "";
        break;
      }
      current = stripLeading(lines[index++]!);
    }
    yield { text: joined + current, line: start + 1 };
  }
}

function stripLeading(line: string): string {
  let index = 0;
  while (index < line.length && WHITESPACE.has(line[index]!)) index++;
  return line.slice(index);
}

function endsInOddBackslashes(line: string): boolean {
  let count = 0;
  for (
    let index = line.length - 1;
    index >= 0 && line[index] === "\\";
    index--
  ) {
    count++;
  }
  return count % 2 === 1;
}

function splitEntry(logical: string, line: number): PropertyEntry {
  let keyEnd = 0;
  let valueStart = logical.length;
  let hasSeparator = false;
  while (keyEnd < logical.length) {
    const char = logical[keyEnd]!;
    if (char === "\\") {
      keyEnd += 2;
      continue;
    }
    if (char === "=" || char === ":") {
      hasSeparator = true;
      valueStart = keyEnd + 1;
      break;
    }
    if (WHITESPACE.has(char)) {
      valueStart = keyEnd + 1;
      break;
    }
    keyEnd++;
  }
  keyEnd = Math.min(keyEnd, logical.length);
  while (valueStart < logical.length) {
    const char = logical[valueStart]!;
    if (WHITESPACE.has(char)) valueStart++;
    else if (!hasSeparator && (char === "=" || char === ":")) {
      hasSeparator = true;
      valueStart++;
    } else break;
  }
  return {
    key: unescape(logical.slice(0, keyEnd), line),
    value: unescape(logical.slice(valueStart), line),
    line,
  };
}

function unescape(text: string, line: number): string {
  if (!text.includes("\\")) return text;
  return text.replace(/\\(u(.{0,4})|[^]?)/g, (whole, escape: string, hex) => {
    if (escape === "") return ""; // a lone backslash at the very end, as Java drops it
    if (escape[0] !== "u") return ESCAPES[escape] ?? escape;
    if (!/^[0-9A-Fa-f]{4}$/.test(hex)) {
      throw new PropertiesError(
        `Malformed \\uxxxx encoding "${whole}"`,
        line,
      );
    }
    return String.fromCharCode(parseInt(hex, 16));
  });
}
