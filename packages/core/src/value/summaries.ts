/**
 * From a purchase log to the models' inputs. Purchases are counted by UTC day: a customer's
 * purchases on one day are one transaction whose spend is their sum. Amounts of a day are summed
 * in ascending order and days in time order, so the result does not depend on the log's order.
 */
import type { ValueSummary, ValueUnit } from "./types.ts";

/** One purchase: the UTC day it happened on (days since 1970-01-01) and its amount in currency units. */
export interface ValueTransaction {
  readonly customerId: string;
  readonly day: number;
  readonly amount: number;
}

/** A customer's repeat purchases in a hold-out period. */
export interface HoldoutActual {
  /** Distinct purchase days in the period (each a repeat: the customer bought before it). */
  readonly purchases: number;
  /** Total spend in the period, currency units. */
  readonly spend: number;
}

/** Days in one model unit. */
export function valueUnitDays(unit: ValueUnit): number {
  return unit === "week" ? 7 : 1;
}

/** Each customer's (x, tx, T, meanSpend) at the start of calibrationEndDay from their purchases on days ≤ calibrationEndDay; customers without one are absent. */
export function summarizeTransactions(transactions: readonly ValueTransaction[], calibrationEndDay: number, unit: ValueUnit): Map<string, ValueSummary> {
  const perUnit = valueUnitDays(unit);
  const summaries = new Map<string, ValueSummary>();
  for (const [customerId, days] of purchaseDays(transactions, Number.NEGATIVE_INFINITY, calibrationEndDay)) {
    const first = days[0]!;
    const last = days[days.length - 1]!;
    let repeatSpend = 0;
    for (let index = 1; index < days.length; index++) repeatSpend += days[index]!.spend;
    const x = days.length - 1;
    summaries.set(customerId, { x, tx: (last.day - first.day) / perUnit, T: (calibrationEndDay - first.day) / perUnit, meanSpend: x === 0 ? 0 : repeatSpend / x });
  }
  return summaries;
}

/** Repeat purchase days and spend in (calibrationEndDay, holdoutEndDay] of each customer who bought by calibrationEndDay (0 and 0 when they did not buy again). */
export function holdoutActuals(transactions: readonly ValueTransaction[], calibrationEndDay: number, holdoutEndDay: number): Map<string, HoldoutActual> {
  const actuals = new Map<string, HoldoutActual>();
  for (const customerId of purchaseDays(transactions, Number.NEGATIVE_INFINITY, calibrationEndDay).keys()) actuals.set(customerId, { purchases: 0, spend: 0 });
  for (const [customerId, days] of purchaseDays(transactions, calibrationEndDay, holdoutEndDay, actuals)) {
    let spend = 0;
    for (const day of days) spend += day.spend;
    actuals.set(customerId, { purchases: days.length, spend });
  }
  return actuals;
}

/** Per customer, their purchase days in (after, through] in time order with each day's spend; only customers in `only` when given. */
function purchaseDays(
  transactions: readonly ValueTransaction[],
  after: number,
  through: number,
  only?: ReadonlyMap<string, unknown>,
): Map<string, { day: number; spend: number }[]> {
  const amounts = new Map<string, Map<number, number[]>>();
  for (const { customerId, day, amount } of transactions) {
    if (!(day > after && day <= through)) continue;
    if (only !== undefined && !only.has(customerId)) continue;
    let byDay = amounts.get(customerId);
    if (byDay === undefined) amounts.set(customerId, (byDay = new Map()));
    const list = byDay.get(day);
    if (list === undefined) byDay.set(day, [amount]);
    else list.push(amount);
  }
  const result = new Map<string, { day: number; spend: number }[]>();
  for (const [customerId, byDay] of amounts) {
    const days = [...byDay]
      .sort(([left], [right]) => left - right)
      .map(([day, list]) => ({ day, spend: list.sort((left, right) => left - right).reduce((sum, amount) => sum + amount, 0) }));
    result.set(customerId, days);
  }
  return result;
}
