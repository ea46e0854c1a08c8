/** Time in the core is always epoch milliseconds (UTC), passed in; the core never reads a clock. */
export type EpochMs = number;

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** Day number since 1970-01-01 UTC of an instant. */
export function utcDay(at: EpochMs): number {
  return Math.floor(at / DAY_MS);
}

export function daysBetween(from: EpochMs, to: EpochMs): number {
  return (to - from) / DAY_MS;
}

/** Rounds a number of days for reasons and reports: 2 decimals are enough to explain a decision. */
export function roundDays(days: number): number {
  return Math.round(days * 100) / 100;
}
