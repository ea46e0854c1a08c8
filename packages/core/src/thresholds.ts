import type { LifecycleConfig } from "./lifecycle-config.ts";
import type { RiskLevel } from "./stages.ts";
import { purchaseDays, type CustomerState } from "./state.ts";
import { DAY_MS, utcDay, type EpochMs } from "./time.ts";

export interface ChurnThresholds {
  /** Where the thresholds come from: the customer's own cadence, or the population default. */
  basis: "personal" | "population";
  gapCount: number;
  /** Mean gap between distinct purchase days, in days; null with fewer than one gap. */
  meanGapDays: number | null;
  warnAfterMs: number;
  churnAfterMs: number;
}

/**
 * Gap thresholds for one customer. The mean gap between distinct purchase days is
 * (last day − first day) / (days − 1): it depends only on first, last and count,
 * so it is exact under out-of-order delivery. With at least `minGaps` gaps the
 * thresholds are multiples of it, clamped to floor/ceiling; before that, the
 * population defaults apply. Churn is always at least one day after warn.
 */
export function churnThresholds(state: CustomerState, config: LifecycleConfig): ChurnThresholds {
  return churnThresholdsInto(state, config, { basis: "population", gapCount: 0, meanGapDays: null, warnAfterMs: 0, churnAfterMs: 0 });
}

/** churnThresholds written into `out` (returned): the stage rules run several times per event and need no new object. */
export function churnThresholdsInto(state: CustomerState, config: LifecycleConfig, out: ChurnThresholds): ChurnThresholds {
  const { population, personal } = config.churn;
  const gapCount = Math.max(0, purchaseDays(state) - 1);
  const meanGapDays =
    gapCount > 0 && state.firstPurchaseAt !== null && state.lastPurchaseAt !== null
      ? (utcDay(state.lastPurchaseAt) - utcDay(state.firstPurchaseAt)) / gapCount
      : null;
  out.gapCount = gapCount;
  out.meanGapDays = meanGapDays;
  if (meanGapDays === null || gapCount < personal.minGaps) {
    out.basis = "population";
    out.warnAfterMs = population.warnAfterDays * DAY_MS;
    out.churnAfterMs = population.churnAfterDays * DAY_MS;
    return out;
  }
  const warnDays = clamp(meanGapDays * personal.warnMultiplier, personal.warnFloorDays, personal.warnCeilingDays);
  const churnDays = Math.max(
    clamp(meanGapDays * personal.churnMultiplier, personal.churnFloorDays, personal.churnCeilingDays),
    warnDays + 1,
  );
  out.basis = "personal";
  out.warnAfterMs = Math.round(warnDays * DAY_MS);
  out.churnAfterMs = Math.round(churnDays * DAY_MS);
  return out;
}

/** Churn risk from the current purchase gap: none → low → medium (at warn) → high → (churned stays high). */
export function riskLevel(state: CustomerState, at: EpochMs, config: LifecycleConfig): RiskLevel {
  if (state.lastPurchaseAt === null) return "none";
  const marks = riskMarksMs(churnThresholdsInto(state, config, RISK_THRESHOLDS), config, RISK_MARKS);
  const gap = at - state.lastPurchaseAt;
  if (gap >= marks.high) return "high";
  if (gap >= marks.medium) return "medium";
  if (gap >= marks.low) return "low";
  return "none";
}

/** The purchase gaps (ms, not rounded) from which the risk is low, medium and high. */
export interface RiskMarks {
  low: number;
  medium: number;
  high: number;
}

/**
 * The risk marks of `thresholds`, written into `out`. riskLevel compares the gap with exactly these
 * numbers, so the crossing instants (last purchase + ⌈mark⌉) are where its answer changes.
 */
export function riskMarksMs(thresholds: ChurnThresholds, config: LifecycleConfig, out: RiskMarks): RiskMarks {
  const { lowAtWarnFraction, highAtFraction } = config.churn.risk;
  out.low = lowAtWarnFraction * thresholds.warnAfterMs;
  out.medium = thresholds.warnAfterMs;
  out.high = thresholds.warnAfterMs + highAtFraction * (thresholds.churnAfterMs - thresholds.warnAfterMs);
  return out;
}

/** Scratch for riskLevel (synchronous): it runs on every event and timer. */
const RISK_THRESHOLDS: ChurnThresholds = { basis: "population", gapCount: 0, meanGapDays: null, warnAfterMs: 0, churnAfterMs: 0 };
const RISK_MARKS: RiskMarks = { low: 0, medium: 0, high: 0 };

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
