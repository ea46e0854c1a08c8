import type { TierCuts, ValueTier } from "./types.ts";

/** Why a customer is in a tier: a stable machine code for marketing. */
export type ValueTierReason = "P_ALIVE_BELOW_WARNING" | "CLV_AT_HIGH_VALUE_CUT" | "CLV_AT_POTENTIAL_CUT" | "CLV_BELOW_POTENTIAL_CUT";

export const REASON_OF_TIER: Readonly<Record<ValueTier, ValueTierReason>> = {
  warning: "P_ALIVE_BELOW_WARNING",
  high_value: "CLV_AT_HIGH_VALUE_CUT",
  potential: "CLV_AT_POTENTIAL_CUT",
  base: "CLV_BELOW_POTENTIAL_CUT",
};

/**
 * The value tier of a customer: warning when a customer whose realised spend is valuable
 * (at or above the warning cut) is probably gone (P(alive) below the threshold); otherwise
 * by predicted CLV against the cuts frozen with the model. Realised spend, not CLV, decides
 * "valuable" for warning: CLV already falls with P(alive), so a lapsing customer's CLV would
 * hide the very value marketing needs to win back.
 */
export function valueTierOf(prediction: { readonly pAlive: number; readonly clv: number }, monetaryTotal: number, cuts: TierCuts, warningPAlive: number): ValueTier {
  if (prediction.pAlive < warningPAlive && monetaryTotal >= cuts.warningMonetary) return "warning";
  if (prediction.clv >= cuts.highValueClv) return "high_value";
  if (prediction.clv >= cuts.potentialClv) return "potential";
  return "base";
}
