import { parseAmountE4, type CustomerEvent } from "@clm/core";
import { expect } from "vitest";
import { monthIndex, monthText, repurchaseByCohort, retention, STAGE_NAMES, stageDistribution, type RetentionRow, type TransitionFact } from "./cohort-expectations.ts";

/**
 * Reads every analyst view into a comparable form (money as E4 integers), and checks it against
 * the independent computations of cohort-expectations.ts. Used against the ClickHouse server of
 * the local stack (18.16) and against current ClickHouse embedded (chDB).
 */
export type RunQuery = (sql: string) => Promise<Record<string, unknown>[]>;

export interface ViewSnapshot {
  monthly: RetentionRow[];
  weekly: RetentionRow[];
  ltv: { cohort: string; period: number; cumulative: string; ltv: string }[];
  repurchase: { cohort: string; cohort_customers: string; repeat_customers: string }[];
  distribution: { month: string; stage: string; customers: string }[];
  funnel: { month: string; from_stage: string | null; to_stage: string; transitions: string; customers: string }[];
  churn: { month: string; base_customers: string; churned: string; churn_rate: number; churned_at_start: string; won_back: string; win_back_rate: number }[];
}

export async function viewSnapshot(run: RunQuery, db: string): Promise<ViewSnapshot> {
  const rows = async <T>(sql: string) => (await run(sql)) as T[];
  const asRetention = (list: { cohort: string; period: number | string; cohort_customers: string; active_customers: string; revenue: string }[]) =>
    list.map((row) => ({ cohort: row.cohort, period: Number(row.period), cohortCustomers: Number(row.cohort_customers), activeCustomers: Number(row.active_customers), revenueE4: parseAmountE4(row.revenue)! }));
  const retentionSql = (view: string, cohort: string) =>
    `SELECT toString(${cohort}) AS cohort, period, toString(cohort_customers) AS cohort_customers, toString(active_customers) AS active_customers, toString(revenue) AS revenue FROM ${db}.${view} ORDER BY cohort, period`;
  return {
    monthly: asRetention(await rows(retentionSql("cohort_retention_monthly", "cohort_month"))),
    weekly: asRetention(await rows(retentionSql("cohort_retention_weekly", "cohort_week"))),
    ltv: (await rows<{ cohort: string; period: number | string; cumulative: string; ltv: string }>(
      `SELECT toString(cohort_month) AS cohort, period, toString(cumulative_revenue) AS cumulative, toString(ltv) AS ltv FROM ${db}.cohort_ltv_monthly ORDER BY cohort, period`,
    )).map((row) => ({ ...row, period: Number(row.period) })),
    repurchase: await rows(`SELECT toString(cohort_month) AS cohort, toString(cohort_customers) AS cohort_customers, toString(repeat_customers) AS repeat_customers FROM ${db}.cohort_repurchase ORDER BY cohort`),
    distribution: await rows(`SELECT toString(month) AS month, stage, toString(customers) AS customers FROM ${db}.stage_distribution_monthly ORDER BY month, stage`),
    funnel: await rows(
      `SELECT toString(month) AS month, from_stage, to_stage, toString(transitions) AS transitions, toString(customers) AS customers FROM ${db}.stage_transition_funnel_monthly ORDER BY month, from_stage, to_stage`,
    ),
    churn: await rows(
      `SELECT toString(month) AS month, toString(base_customers) AS base_customers, toString(churned) AS churned, churn_rate, toString(churned_at_start) AS churned_at_start, toString(won_back) AS won_back, win_back_rate FROM ${db}.churn_winback_monthly ORDER BY month`,
    ),
  };
}

/** Retention (monthly and weekly), LTV and repurchase equal the independent computation over the events. */
export function expectCohortViews(snapshot: ViewSnapshot, events: readonly CustomerEvent[]): void {
  const monthly = retention(events, "month");
  expect(snapshot.monthly).toEqual(monthly);
  expect(snapshot.weekly).toEqual(retention(events, "week"));

  // LTV: cumulative revenue through period k; per customer truncated to 4 decimals.
  const cumulative = new Map<string, number>();
  for (const row of monthly) cumulative.set(`${row.cohort}:${row.period}`, (cumulative.get(`${row.cohort}:${row.period - 1}`) ?? 0) + row.revenueE4);
  expect(snapshot.ltv.length).toBe(monthly.length);
  for (const row of snapshot.ltv) {
    const through = cumulative.get(`${row.cohort}:${row.period}`)!;
    expect(parseAmountE4(row.cumulative)).toBe(through);
    const size = monthly.find((entry) => entry.cohort === row.cohort)!.cohortCustomers;
    expect(parseAmountE4(row.ltv)).toBe(Math.trunc(through / size));
  }

  const repurchase = repurchaseByCohort(events);
  expect(snapshot.repurchase.map((row) => [row.cohort, Number(row.cohort_customers), Number(row.repeat_customers)])).toEqual(
    [...repurchase].sort((left, right) => left[0].localeCompare(right[0])).map(([cohort, entry]) => [cohort, entry.customers, entry.repeat]),
  );
}

/** Stage distribution per month end, transition funnel, churn and win-back equal the computation over the stage changes. */
export function expectStageViews(snapshot: ViewSnapshot, transitions: readonly TransitionFact[]): void {
  const distribution = stageDistribution(transitions);
  const actual = new Map<string, Record<string, number>>();
  for (const row of snapshot.distribution) {
    if (!actual.has(row.month)) actual.set(row.month, {});
    actual.get(row.month)![row.stage] = Number(row.customers);
  }
  expect(actual).toEqual(distribution);

  const funnel = new Map<string, { transitions: number; customers: Set<string> }>();
  for (const transition of transitions) {
    const key = `${monthText(monthIndex(transition.occurredAt))}|${transition.from ?? "null"}|${transition.to}`;
    if (!funnel.has(key)) funnel.set(key, { transitions: 0, customers: new Set() });
    funnel.get(key)!.transitions++;
    funnel.get(key)!.customers.add(transition.customerId);
  }
  // from_stage is NULL for a first stage (toString of a Nullable Enum fails on 18.16, so it is read as is).
  expect(new Map(snapshot.funnel.map((row) => [`${row.month}|${row.from_stage ?? "null"}|${row.to_stage}`, { transitions: Number(row.transitions), customers: Number(row.customers) }]))).toEqual(
    new Map([...funnel].map(([key, value]) => [key, { transitions: value.transitions, customers: value.customers.size }])),
  );

  const months = [...distribution.keys()];
  expect(snapshot.churn.map((row) => row.month)).toEqual(months);
  for (const [index, row] of snapshot.churn.entries()) {
    const before = index === 0 ? null : distribution.get(months[index - 1]!)!;
    const base = before === null ? 0 : before.new! + before.active! + before.loyal! + before.at_risk! + before.won_back!;
    const churnedAtStart = before === null ? 0 : before.churned!;
    const inMonth = transitions.filter((transition) => monthText(monthIndex(transition.occurredAt)) === row.month);
    const churned = inMonth.filter((transition) => transition.to === "churned").length;
    const wonBack = inMonth.filter((transition) => transition.to === "won_back").length;
    expect([Number(row.base_customers), Number(row.churned), Number(row.churned_at_start), Number(row.won_back)]).toEqual([base, churned, churnedAtStart, wonBack]);
    expect(Number(row.churn_rate)).toBeCloseTo(base === 0 ? 0 : churned / base, 12);
    expect(Number(row.win_back_rate)).toBeCloseTo(churnedAtStart === 0 ? 0 : wonBack / churnedAtStart, 12);
  }
  expect(STAGE_NAMES.every((stage) => distribution.get(months.at(-1)!)![stage] !== undefined)).toBe(true);
}
