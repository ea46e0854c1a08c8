import type { CustomerEvent } from "@clm/core";

/**
 * Cohort figures computed directly from events and stage changes in plain TypeScript, independent of
 * the ClickHouse SQL, so tests can demand equality. Money is in E4 integers; months and weeks are UTC.
 */

const DAY_MS = 86_400_000;
export const monthIndex = (ms: number) => new Date(ms).getUTCFullYear() * 12 + new Date(ms).getUTCMonth();
export const monthText = (index: number) => `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}-01`;
/** Day number of the ISO week's Monday. */
export const mondayIndex = (ms: number) => {
  const day = Math.floor(ms / DAY_MS);
  return day - ((day + 3) % 7); // 1970-01-01 was a Thursday
};
export const dayText = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);

export interface RetentionRow {
  cohort: string;
  period: number;
  cohortCustomers: number;
  activeCustomers: number;
  revenueE4: number;
}

/** Purchases only, one per (customerId, eventId). */
export function uniquePurchases(events: readonly CustomerEvent[]): CustomerEvent[] {
  const seen = new Set<string>();
  const out: CustomerEvent[] = [];
  for (const event of events) {
    const key = `${event.customerId}\u0000${event.eventId}`;
    if (event.type !== "purchase" || seen.has(key)) continue;
    seen.add(key);
    out.push(event);
  }
  return out;
}

export function retention(events: readonly CustomerEvent[], bucket: "month" | "week"): RetentionRow[] {
  const purchases = uniquePurchases(events);
  const index = bucket === "month" ? monthIndex : (ms: number) => mondayIndex(ms) / 7;
  const text = bucket === "month" ? monthText : (week: number) => dayText(week * 7);
  const first = new Map<string, number>();
  for (const purchase of purchases) first.set(purchase.customerId, Math.min(first.get(purchase.customerId) ?? Infinity, purchase.occurredAt));
  const horizon = Math.max(...purchases.map((purchase) => index(purchase.occurredAt)));
  const cohortSize = new Map<number, number>();
  for (const at of first.values()) cohortSize.set(index(at), (cohortSize.get(index(at)) ?? 0) + 1);
  const active = new Map<string, Set<string>>();
  const revenue = new Map<string, number>();
  for (const purchase of purchases) {
    const cohort = index(first.get(purchase.customerId)!);
    const key = `${cohort}:${index(purchase.occurredAt) - cohort}`;
    if (!active.has(key)) active.set(key, new Set());
    active.get(key)!.add(purchase.customerId);
    if (purchase.type === "purchase") revenue.set(key, (revenue.get(key) ?? 0) + purchase.properties.amountE4);
  }
  const rows: RetentionRow[] = [];
  for (const [cohort, size] of [...cohortSize].sort((left, right) => left[0] - right[0])) {
    for (let period = 0; period <= horizon - cohort; period++) {
      const key = `${cohort}:${period}`;
      rows.push({ cohort: text(cohort), period, cohortCustomers: size, activeCustomers: active.get(key)?.size ?? 0, revenueE4: revenue.get(key) ?? 0 });
    }
  }
  return rows;
}

export function repurchaseByCohort(events: readonly CustomerEvent[]): Map<string, { customers: number; repeat: number }> {
  const days = new Map<string, Set<number>>();
  const first = new Map<string, number>();
  for (const purchase of uniquePurchases(events)) {
    if (!days.has(purchase.customerId)) days.set(purchase.customerId, new Set());
    days.get(purchase.customerId)!.add(Math.floor(purchase.occurredAt / DAY_MS));
    first.set(purchase.customerId, Math.min(first.get(purchase.customerId) ?? Infinity, purchase.occurredAt));
  }
  const out = new Map<string, { customers: number; repeat: number }>();
  for (const [customerId, at] of first) {
    const cohort = monthText(monthIndex(at));
    const entry = out.get(cohort) ?? { customers: 0, repeat: 0 };
    entry.customers++;
    if (days.get(customerId)!.size >= 2) entry.repeat++;
    out.set(cohort, entry);
  }
  return out;
}

export interface TransitionFact {
  transitionId: string;
  customerId: string;
  version: number;
  from: string | null;
  to: string;
  occurredAt: number;
}

export const STAGE_NAMES = ["prospect", "new", "active", "loyal", "at_risk", "churned", "won_back"] as const;

/** Customers per stage at the end of each month from the first to the last stage change's month. */
export function stageDistribution(transitions: readonly TransitionFact[]): Map<string, Record<string, number>> {
  const months = transitions.map((transition) => monthIndex(transition.occurredAt));
  const firstMonth = Math.min(...months);
  const lastMonth = Math.max(...months);
  const byCustomer = new Map<string, TransitionFact[]>();
  for (const transition of transitions) {
    if (!byCustomer.has(transition.customerId)) byCustomer.set(transition.customerId, []);
    byCustomer.get(transition.customerId)!.push(transition);
  }
  for (const list of byCustomer.values()) list.sort((left, right) => left.version - right.version);
  const out = new Map<string, Record<string, number>>();
  for (let month = firstMonth; month <= lastMonth; month++) {
    const counts: Record<string, number> = Object.fromEntries(STAGE_NAMES.map((stage) => [stage, 0]));
    for (const list of byCustomer.values()) {
      let stage: string | null = null;
      for (const transition of list) if (monthIndex(transition.occurredAt) <= month) stage = transition.to;
      if (stage !== null) counts[stage]!++;
    }
    out.set(monthText(month), counts);
  }
  return out;
}
