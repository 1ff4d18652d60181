import { isValidName, MAX_PARAM_CHARS } from "../protocol/line_codec.ts";

/** An event to trigger when a pattern matches a line. */
export interface EventPattern {
  /** The event name, `[A-Za-z0-9_]+`. */
  readonly event: string;
  /** A Java regular expression, matched anywhere in a line (as Java's `find`). */
  readonly pattern: string;
  /** 1-based line of the configuration file it came from, for error messages. */
  readonly line?: number;
}

/** A pattern or event name that cannot be used, with the configuration line it came from. */
export class PatternError extends SyntaxError {
  /** 1-based configuration line, or 0 when unknown. */
  readonly line: number;
  /**
   * Creates the error.
   * @param message what is wrong
   * @param line 1-based configuration line, or 0 when unknown
   */
  constructor(message: string, line: number) {
    super(message);
    this.name = "PatternError";
    this.line = line;
  }
}

/** A Java pattern rewritten for JavaScript: the `u`-mode source and its flags. */
export interface TranslatedPattern {
  /** The source for `new RegExp`. */
  readonly source: string;
  /** The flags for `new RegExp`: always `u`, plus `i`, `m`, `s` from leading inline flags. */
  readonly flags: string;
}

const LEADING_FLAGS = /^\(\?([a-zA-Z]+)\)/;
const LONER = /\\[1-9]|\\k<|\(\?<(?![=!])/; // back-references and named groups: not combinable

/** Java's POSIX classes (US-ASCII only), as the inside of a JavaScript character class. */
const POSIX: Readonly<Record<string, string>> = {
  Lower: "a-z",
  Upper: "A-Z",
  ASCII: "\\x00-\\x7F",
  Alpha: "a-zA-Z",
  Digit: "0-9",
  Alnum: "a-zA-Z0-9",
  Punct: "\\x21-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7E",
  Graph: "\\x21-\\x7E",
  Print: "\\x20-\\x7E",
  Blank: " \\t",
  Cntrl: "\\x00-\\x1F\\x7F",
  XDigit: "0-9a-fA-F",
  Space: " \\t\\n\\x0B\\f\\r",
};
const POSIX_ESCAPE = /^\\([pP])\{(\w+)\}/;

/**
 * Rewrites a Java regular expression into a JavaScript one with the `u` flag: leading `(?ims)`
 * flags become flags (`u` and `d` are accepted and ignored), `\Q…\E` quotes, a backslash before
 * any non-alphanumeric character means that character (Java's rule), `\x{h…h}` is a code point,
 * POSIX classes such as `\p{Alpha}` are ASCII ranges as in Java. Everything else is left to the
 * JavaScript engine, which rejects what it does not know.
 * @param pattern the Java pattern
 * @returns the JavaScript source and flags
 * @throws {SyntaxError} for a flag JavaScript lacks (`x`, `U`, …) or `\P{…}` inside a class
 */
export function translateJavaPattern(pattern: string): TranslatedPattern {
  let flags = "u";
  let rest = pattern;
  const leading = LEADING_FLAGS.exec(pattern);
  if (leading !== null) {
    for (const flag of new Set(leading[1]!)) {
      if ("ims".includes(flag)) flags += flag;
      else if (flag !== "u" && flag !== "d") {
        throw new SyntaxError(`Unsupported inline flag "(?${flag})"`);
      }
    }
    rest = pattern.slice(leading[0].length);
  }
  return { source: translateBody(rest), flags };
}

function translateBody(pattern: string): string {
  let source = "";
  let inClass = false;
  for (let index = 0; index < pattern.length;) {
    const char = pattern[index]!;
    if (char !== "\\" || index + 1 >= pattern.length) {
      if (char === "[") inClass = true;
      else if (char === "]") inClass = false;
      source += char;
      index++;
      continue;
    }
    const next = String.fromCodePoint(pattern.codePointAt(index + 1)!);
    const posix = POSIX_ESCAPE.exec(pattern.slice(index));
    if (posix !== null && posix[2]! in POSIX) {
      source += posixClass(posix[1] === "P", POSIX[posix[2]!]!, inClass);
      index += posix[0].length;
    } else if (next === "Q") {
      const end = pattern.indexOf("\\E", index + 2);
      const quoted = pattern.slice(index + 2, end === -1 ? undefined : end);
      for (const quotedChar of quoted) source += literal(quotedChar);
      index = end === -1 ? pattern.length : end + 2;
    } else if (next === "x" && pattern[index + 2] === "{") {
      source += "\\u{"; // Java's \x{h…h} is JavaScript's \u{h…h}
      index += 3;
    } else {
      source += /[A-Za-z0-9]/.test(next) ? char + next : literal(next);
      index += 1 + next.length;
    }
  }
  return source;
}

function posixClass(
  negated: boolean,
  ranges: string,
  inClass: boolean,
): string {
  if (!inClass) return negated ? `[^${ranges}]` : `[${ranges}]`;
  if (negated) {
    throw new SyntaxError(
      "Unsupported \\P{…} POSIX class inside a character class",
    );
  }
  return ranges;
}

function literal(char: string): string {
  return `\\u{${char.codePointAt(0)!.toString(16)}}`;
}

interface Compiled {
  readonly event: string;
  readonly regex: RegExp;
  readonly loner: boolean;
}

/**
 * Patterns that turn lines into events. A line is first tested against one regular expression
 * combining every pattern (most log lines match none); only then is each pattern tried.
 */
export class PatternSet {
  readonly #patterns: readonly Compiled[];
  readonly #combined: RegExp | undefined;
  readonly #hasLoners: boolean;

  /**
   * Compiles every pattern.
   * @param patterns events and their Java patterns, in the order they are tried
   * @throws {PatternError} for an invalid event name or a pattern that does not compile
   */
  constructor(patterns: readonly EventPattern[]) {
    this.#patterns = patterns.map(compile);
    const combinable = this.#patterns.filter((pattern) => !pattern.loner);
    this.#hasLoners = combinable.length < this.#patterns.length;
    this.#combined = combinable.length === 0 ? undefined : new RegExp(
      combinable.map(({ regex }) => {
        const modifiers = regex.flags.replace(/[^ims]/g, "");
        return modifiers === ""
          ? `(?:${regex.source})`
          : `(?${modifiers}:${regex.source})`;
      }).join("|"),
      "u",
    );
  }

  /** How many patterns there are. */
  get size(): number {
    return this.#patterns.length;
  }

  /**
   * The events whose patterns match somewhere in `line`, in pattern order.
   * @param line one line without its line end
   * @returns the matching events, possibly none
   */
  match(line: string): string[] {
    const events: string[] = [];
    this.#matchLine(line, (event) => events.push(event));
    return events;
  }

  /**
   * Matches every line of `text` (lines end in "\n" or "\r\n"; the last needs no line end).
   * @param text one or more lines
   * @param onMatch called per matching event, in line order then pattern order
   */
  scan(text: string, onMatch: (event: string, line: string) => void): void {
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf("\n", start);
      if (end === -1) end = text.length;
      const lineEnd = end > start && text.charCodeAt(end - 1) === 13
        ? end - 1
        : end;
      this.#matchLine(text.slice(start, lineEnd), onMatch);
      start = end + 1;
    }
  }

  #matchLine(
    line: string,
    onMatch: (event: string, line: string) => void,
  ): void {
    const any = this.#combined?.test(line) ?? false;
    if (!any && !this.#hasLoners) return;
    for (const pattern of this.#patterns) {
      if ((any || pattern.loner) && pattern.regex.test(line)) {
        onMatch(pattern.event, line);
      }
    }
  }
}

function compile({ event, pattern, line = 0 }: EventPattern): Compiled {
  if (!isValidName(event)) {
    throw new PatternError(
      `Invalid event name "${event}": use 1 to ${MAX_PARAM_CHARS} characters of [A-Za-z0-9_]`,
      line,
    );
  }
  try {
    const { source, flags } = translateJavaPattern(pattern);
    return {
      event,
      regex: new RegExp(source, flags),
      loner: LONER.test(source),
    };
  } catch (error) {
    const detail = (error as Error).message.replace(
      /^Invalid regular expression: \/.*\/[a-z]*: /s,
      "",
    );
    throw new PatternError(
      `Cannot compile the pattern of "${event}" ("${pattern}"): ${detail}`,
      line,
    );
  }
}
