import { idTextProblem } from "@clm/core";
import { ConsoleError } from "./errors.ts";

/** Cohort grains the views have: calendar months (first day) and ISO weeks (Monday). */
export type Grain = "month" | "week";

/** The most cohorts (or months) one answer covers: 10 years of months, 3 years of weeks. */
export const MAX_SPAN = { month: 120, week: 156 } as const satisfies Record<Grain, number>;
/** The most periods per cohort an answer carries. */
export const MAX_PERIODS = { month: 120, week: 156 } as const satisfies Record<Grain, number>;
export const MAX_EVENTS = 200;

/** An inclusive range of period starts, as ISO dates (YYYY-MM-DD). */
export interface DateRange {
  from: string;
  to: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** A period start: YYYY-MM (month grain) or YYYY-MM-DD, brought to its period's first day (a month's 1st, a week's Monday). */
export function parsePeriodStart(text: string, grain: Grain, name: string): string {
  const month = MONTH.exec(text);
  const date = DATE.exec(text);
  let at: number;
  if (month !== null) at = Number(month[2]) >= 1 && Number(month[2]) <= 12 ? Date.UTC(Number(month[1]), Number(month[2]) - 1, 1) : NaN;
  else if (date !== null) {
    at = Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]));
    if (new Date(at).toISOString().slice(0, 10) !== text) at = NaN;
  } else at = NaN;
  const year = new Date(at).getUTCFullYear();
  if (!Number.isFinite(at) || year < 1970 || year > 2105) throw new ConsoleError("INVALID_PARAMETER", `${name} must be a date YYYY-MM-DD or a month YYYY-MM between 1970 and 2105, got ${JSON.stringify(text)}`);
  return periodStart(at, grain);
}

/** The first day of the period holding `at` (UTC): the month's 1st or the ISO week's Monday. */
export function periodStart(at: number, grain: Grain): string {
  const day = new Date(at);
  if (grain === "month") return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), 1)).toISOString().slice(0, 10);
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate()) - sinceMonday * DAY_MS).toISOString().slice(0, 10);
}

/** Periods from `from` to `to`, both included (0 when `to` is before `from`). */
export function periodsBetween(from: string, to: string, grain: Grain): number {
  const a = new Date(`${from}T00:00:00Z`);
  const b = new Date(`${to}T00:00:00Z`);
  if (grain === "month") return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth() + 1;
  return Math.round((b.getTime() - a.getTime()) / (7 * DAY_MS)) + 1;
}

/** Moves a period start by `count` periods. */
export function addPeriods(start: string, count: number, grain: Grain): string {
  const at = new Date(`${start}T00:00:00Z`);
  if (grain === "month") return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + count, 1)).toISOString().slice(0, 10);
  return new Date(at.getTime() + count * 7 * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The range an answer covers: `from` and `to` as asked (each brought to its period's start), a missing
 * end taken from the data (`data`: the first and last period there is, null when there is none); when
 * neither is asked, the latest MAX_SPAN periods of the data. A range longer than MAX_SPAN, or reversed,
 * is refused rather than cut, so a page never shows less than it says.
 */
export function rangeOf(params: URLSearchParams, grain: Grain, data: DateRange | null): DateRange | null {
  const fromText = params.get("from");
  const toText = params.get("to");
  const asked = { from: fromText === null || fromText === "" ? null : parsePeriodStart(fromText, grain, "from"), to: toText === null || toText === "" ? null : parsePeriodStart(toText, grain, "to") };
  if (asked.from === null && asked.to === null && data === null) return null;
  const to = asked.to ?? data?.to ?? asked.from!;
  const from = asked.from ?? (asked.to === null && data !== null ? maxDate(data.from, addPeriods(to, 1 - MAX_SPAN[grain], grain)) : (data?.from ?? to));
  const span = periodsBetween(from, to, grain);
  if (span < 1) throw new ConsoleError("INVALID_PARAMETER", `from (${from}) is after to (${to})`);
  if (span > MAX_SPAN[grain]) throw new ConsoleError("INVALID_PARAMETER", `the range ${from}..${to} holds ${span} ${grain}s; at most ${MAX_SPAN[grain]}`);
  return { from, to };
}

const maxDate = (a: string, b: string) => (a > b ? a : b);

export function grainOf(params: URLSearchParams): Grain {
  const grain = params.get("grain") ?? "month";
  if (grain !== "month" && grain !== "week") throw new ConsoleError("INVALID_PARAMETER", `grain must be month or week, got ${JSON.stringify(grain)}`);
  return grain;
}

/** An integer parameter within [min, max], `fallback` when absent; anything else is refused, not clamped. */
export function intParam(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const text = params.get(name);
  if (text === null || text === "") return fallback;
  const value = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw new ConsoleError("INVALID_PARAMETER", `${name} must be an integer ${min}..${max}, got ${JSON.stringify(text)}`);
  return value;
}

/** A customer id under the event contract's rules for ids (at most 128 characters, no control characters). */
export function customerIdParam(text: string): string {
  if (text.length === 0 || text.length > 128) throw new ConsoleError("INVALID_PARAMETER", "a customer id has 1..128 characters");
  const problem = idTextProblem(text);
  if (problem !== null) throw new ConsoleError("INVALID_PARAMETER", `customer id ${problem.detail}`);
  return text;
}
