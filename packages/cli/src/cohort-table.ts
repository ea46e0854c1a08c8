import type { CohortGranularity, CohortRow } from "./cohort-query.ts";
import { formatCount, renderTable } from "./table.ts";

export type CohortMeasure = "count" | "percent" | "revenue";

/**
 * The retention triangle as text: one row per cohort (label, cohort size), one column per
 * period k. Later cohorts have fewer periods, so their rows end earlier. Cells show active
 * customers, their share of the cohort (one decimal), or the period's revenue (exact).
 */
export function renderCohortMatrix(rows: readonly CohortRow[], options: { granularity: CohortGranularity; measure: CohortMeasure }): string {
  if (rows.length === 0) return "(no cohorts: the view is empty)";
  const cohorts = new Map<string, { size: string; cells: Map<number, CohortRow> }>();
  let maxPeriod = 0;
  for (const row of rows) {
    let cohort = cohorts.get(row.cohort);
    if (!cohort) cohorts.set(row.cohort, (cohort = { size: row.cohortCustomers, cells: new Map() }));
    cohort.cells.set(row.period, row);
    maxPeriod = Math.max(maxPeriod, row.period);
  }
  const prefix = options.granularity === "month" ? "m" : "w";
  const periods = Array.from({ length: maxPeriod + 1 }, (_, period) => period);
  const headers = [options.granularity === "month" ? "cohort" : "cohort week", "customers", ...periods.map((period) => `${prefix}${period}`)];
  const body = [...cohorts.entries()]
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
    .map(([label, cohort]) => [
      cohortLabel(label, options.granularity),
      formatCount(BigInt(cohort.size)),
      ...periods.map((period) => {
        const cell = cohort.cells.get(period);
        return cell === undefined ? "" : formatCell(cell, options.measure);
      }),
    ]);
  return renderTable(headers, body, headers.map((_, column) => (column === 0 ? "left" : "right")));
}

/** Monthly cohorts as YYYY-MM; weekly cohorts by their Monday, YYYY-MM-DD. */
export function cohortLabel(date: string, granularity: CohortGranularity): string {
  return granularity === "month" ? date.slice(0, 7) : date;
}

export function formatCell(row: CohortRow, measure: CohortMeasure): string {
  if (measure === "count") return formatCount(BigInt(row.activeCustomers));
  if (measure === "percent") return formatPercent(row.activeCustomers, row.cohortCustomers);
  return formatDecimal(row.revenue);
}

/**
 * part/whole as a percentage with one decimal, rounded half up, computed on integers so no
 * binary fraction can tip a .x5 the wrong way. A zero-size cohort shows "-".
 */
export function formatPercent(part: string, whole: string): string {
  const numerator = BigInt(part);
  const denominator = BigInt(whole);
  if (denominator === 0n) return "-";
  const tenths = (numerator * 2000n + denominator) / (2n * denominator); // round(part/whole × 1000)
  return `${tenths / 10n}.${tenths % 10n}%`;
}

/**
 * A ClickHouse Decimal's text, kept exact: thousands separated, trailing fraction zeros beyond
 * cents dropped ("1234.5600" → "1,234.56", "0.1250" → "0.125").
 */
export function formatDecimal(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return text;
  const [, sign, whole, fraction = ""] = match;
  let digits = fraction.replace(/0+$/, "");
  if (digits.length < 2) digits = digits.padEnd(2, "0");
  return `${sign}${formatCount(BigInt(whole!))}.${digits}`;
}
