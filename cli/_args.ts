// A strict command-line parser for the tools, the subset of node:util's parseArgs they use.
// Written here because importing node:util (or node:process) starts Deno's Node compatibility
// layer, which costs a one-shot tool about 13 ms of CPU: half of a `deno run` hello world.

/** One option: `--name` (or `-n`), a flag or one value, optionally repeatable. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  /** One-letter alias, used as `-x`. */
  readonly short?: string;
  /** Collect every occurrence into an array. */
  readonly multiple?: boolean;
  /** Value when the option is not given. */
  readonly default?: string | boolean;
}

/** Option specs by long name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Option values by long name, and the positional arguments in order. */
export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** A command line that does not fit the specs; the message names the option. */
export class ArgsError extends Error {}

/**
 * Parses `args`: `--name`, `--name=value`, `--name value`, `-x`, `-x value`, `-xvalue`, grouped
 * flags `-qv`; `--` ends the options; a lone `-` is a positional.
 * @throws {ArgsError} for an unknown option, a missing value or a value given to a flag
 */
export function parseArgs(
  args: readonly string[],
  specs: OptionSpecs,
): ParsedArgs {
  const values: ParsedArgs["values"] = {};
  const positionals: string[] = [];
  const shorts = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.short !== undefined) shorts.set(spec.short, name);
  }
  const set = (name: string, value: string | boolean) => {
    if (!specs[name]!.multiple) return void (values[name] = value);
    const list = (values[name] ??= []) as (string | boolean)[];
    list.push(value);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const spec = specs[name];
      if (spec === undefined) {
        throw unknown(arg.slice(0, eq === -1 ? undefined : eq));
      }
      if (spec.type === "boolean") {
        if (eq !== -1) throw new ArgsError(`option "--${name}" takes no value`);
        set(name, true);
      } else if (eq !== -1) set(name, arg.slice(eq + 1));
      else set(name, valueAfter(args, i++, `--${name}`));
    } else {
      i = parseShorts(args, i, { specs, shorts, set });
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (values[name] === undefined && spec.default !== undefined) {
      values[name] = spec.default;
    }
  }
  return { values, positionals };
}

/** `-x`, `-xvalue`, `-x value`, `-qv`; returns the index of the last argument used. */
function parseShorts(
  args: readonly string[],
  index: number,
  { specs, shorts, set }: {
    specs: OptionSpecs;
    shorts: Map<string, string>;
    set: (name: string, value: string | boolean) => void;
  },
): number {
  const arg = args[index]!;
  for (let j = 1; j < arg.length; j++) {
    const name = shorts.get(arg[j]!);
    if (name === undefined) throw unknown(`-${arg[j]}`);
    if (specs[name]!.type === "boolean") {
      set(name, true);
      continue;
    }
    if (j + 1 < arg.length) set(name, arg.slice(j + 1));
    else set(name, valueAfter(args, index++, `-${arg[j]}`));
    return index;
  }
  return index;
}

function valueAfter(
  args: readonly string[],
  index: number,
  option: string,
): string {
  const value = args[index + 1];
  if (value === undefined || (value.startsWith("-") && value !== "-")) {
    throw new ArgsError(`option "${option}" needs a value`);
  }
  return value;
}

function unknown(option: string): ArgsError {
  return new ArgsError(`unknown option "${option}"`);
}
