import { parseArgs, type ParseArgsConfig } from "node:util";

/** A mistake in how the command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;
/** parseArgs' result for these options, named so the declaration build can write it out. */
type ParsedCommandArgs<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>>;

/**
 * node:util parseArgs in strict mode, with its TypeErrors turned into UsageErrors so
 * every command reports a wrong flag the same way.
 */
export function parseCommandArgs<T extends Options>(args: readonly string[], options: T, positionals: { min: number; max: number }): ParsedCommandArgs<T> {
  let parsed: ParsedCommandArgs<T>;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw new UsageError(`expected ${positionals.min} argument(s), got ${count}`);
  if (count > positionals.max) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals.max])}`);
  return parsed;
}

/** A whole number option within bounds; `undefined` gives the default. */
export function intOption(name: string, value: string | undefined, fallback: number, bounds: { min: number; max: number }): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} ${JSON.stringify(value)} is not a whole number`);
  const number = Number(value);
  if (number < bounds.min || number > bounds.max) throw new UsageError(`--${name} must be between ${bounds.min} and ${bounds.max}, got ${value}`);
  return number;
}

/** One of a fixed set of words. */
export function choiceOption<const C extends string>(name: string, value: string | undefined, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`);
  return value as C;
}

export interface YearMonth {
  year: number;
  month: number;
}

/** `YYYY-MM` → year and month (1..12). */
export function yearMonthOption(name: string, value: string | undefined): YearMonth | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(value);
  if (!match) throw new UsageError(`--${name} expects YYYY-MM, got ${JSON.stringify(value)}`);
  return { year: Number(match[1]), month: Number(match[2]) };
}

/**
 * An instant for the ingest API: `YYYY-MM-DD` (midnight UTC) or an ISO-8601 date-time with an
 * offset, passed on as ISO text; the server checks it exactly (a real date, its range).
 */
export function instantOption(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/.test(text) || Number.isNaN(Date.parse(text))) {
    throw new UsageError(`--${name} expects YYYY-MM-DD (midnight UTC) or an ISO-8601 date-time with an offset, got ${JSON.stringify(value)}`);
  }
  return text;
}
