import type { YearMonth } from "./args.ts";

export type CohortGranularity = "month" | "week";

/** One row of cohort_retention_monthly / _weekly, every number as the exact text ClickHouse printed. */
export interface CohortRow {
  /** cohort_month or cohort_week, YYYY-MM-DD. */
  cohort: string;
  period: number;
  cohortCustomers: string;
  activeCustomers: string;
  revenue: string;
}

/** The query's raw row: aliases differ from the column names (ClickHouse 18.16 rejects `toString(x) AS x` as a cyclic alias). */
export interface CohortQueryRow {
  cohort_label: string;
  period_number: number | string;
  cohort_size: string;
  active_count: string;
  revenue_text: string;
}

export interface CohortQueryOptions {
  database: string;
  granularity: CohortGranularity;
  from?: YearMonth | undefined;
  /** Inclusive: cohorts starting in this month or before. */
  to?: YearMonth | undefined;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The cohort matrix query. ClickHouse 18.16 has no server-side query parameters, so the only
 * values spliced in are a checked identifier and dates built from validated numbers.
 * Counts and revenue are cast with toString(): UInt64 and Decimal(38,4) stay exact in JSON.
 */
export function cohortQuery(options: CohortQueryOptions): string {
  if (!IDENTIFIER.test(options.database)) throw new Error(`database name ${JSON.stringify(options.database)} is not an identifier`);
  const column = options.granularity === "month" ? "cohort_month" : "cohort_week";
  const view = options.granularity === "month" ? "cohort_retention_monthly" : "cohort_retention_weekly";
  const conditions: string[] = [];
  if (options.from) conditions.push(`${column} >= toDate('${monthStart(options.from)}')`);
  if (options.to) conditions.push(`${column} < toDate('${monthStart(nextMonth(options.to))}')`);
  return [
    `SELECT toString(${column}) AS cohort_label, period AS period_number, toString(cohort_customers) AS cohort_size,`,
    `       toString(active_customers) AS active_count, toString(revenue) AS revenue_text`,
    `FROM ${options.database}.${view}`,
    ...(conditions.length > 0 ? [`WHERE ${conditions.join(" AND ")}`] : []),
    `ORDER BY ${column}, period`,
  ].join("\n");
}

export function toCohortRow(row: CohortQueryRow): CohortRow {
  return {
    cohort: row.cohort_label,
    period: Number(row.period_number),
    cohortCustomers: row.cohort_size,
    activeCustomers: row.active_count,
    revenue: row.revenue_text,
  };
}

function monthStart({ year, month }: YearMonth): string {
  if (!Number.isInteger(year) || !Number.isInteger(month) || year < 1000 || year > 9999 || month < 1 || month > 12) {
    throw new Error(`invalid month ${year}-${month}`);
  }
  return `${year}-${String(month).padStart(2, "0")}-01`;
}

function nextMonth({ year, month }: YearMonth): YearMonth {
  return month === 12 ? { year: year + 1, month: 1 } : { year, month: month + 1 };
}
