import { createClickHouse, queryRows } from "@clm/clickhouse";
import { parseCommandArgs, UsageError, yearMonthOption } from "../args.ts";
import { cohortQuery, toCohortRow, type CohortQueryRow } from "../cohort-query.ts";
import { renderCohortMatrix, type CohortMeasure } from "../cohort-table.ts";
import { commandConfig } from "../context.ts";

export const usage = `clm cohort [--weekly] [--percent | --revenue] [--from YYYY-MM] [--to YYYY-MM]
  The retention triangle from ClickHouse (cohort_retention_monthly, or _weekly): one row per
  acquisition cohort with its size, one column per period since. Cells: active customers,
  --percent of the cohort (one decimal), or --revenue in the period. --from/--to bound the cohorts.`;

export async function run(args: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    {
      weekly: { type: "boolean", default: false },
      percent: { type: "boolean", default: false },
      revenue: { type: "boolean", default: false },
      from: { type: "string" },
      to: { type: "string" },
    },
    { min: 0, max: 0 },
  );
  if (values.percent && values.revenue) throw new UsageError("--percent and --revenue exclude each other");
  const measure: CohortMeasure = values.percent ? "percent" : values.revenue ? "revenue" : "count";
  const from = yearMonthOption("from", values.from);
  const to = yearMonthOption("to", values.to);
  if (from && to && from.year * 12 + from.month > to.year * 12 + to.month) throw new UsageError(`--from ${values.from} is after --to ${values.to}`);
  const granularity = values.weekly ? "week" : "month";
  const config = commandConfig();

  const client = createClickHouse(config);
  try {
    const rows = await queryRows<CohortQueryRow>(client, cohortQuery({ database: config.CLICKHOUSE_DATABASE, granularity, from, to }));
    const title = { count: "active customers", percent: "% of the cohort active", revenue: "revenue" }[measure];
    console.log(`${granularity === "month" ? "monthly" : "weekly"} cohorts (${config.CLICKHOUSE_DATABASE}), ${title} per ${granularity} since the first purchase`);
    console.log(renderCohortMatrix(rows.map(toCohortRow), { granularity, measure }));
    return 0;
  } finally {
    await client.close();
  }
}
