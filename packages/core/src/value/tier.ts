import type { TierCuts, ValueTier } from "./types.ts";

/**
 * The value tier of a customer at an instant, from the model's predictions and the customer's
 * realised spend, against the cuts frozen with the model version. The same function tiers the fit
 * population (value_predictions) and the stream (the processor), so the two never disagree.
 *
 *   warning     P(alive) < warningPAlive and realised spend ≥ warningMonetary: a valuable customer slipping away
 *   high_value  otherwise, predicted CLV ≥ highValueClv
 *   potential   otherwise, predicted CLV ≥ potentialClv
 *   base        everyone else
 *
 * `monetaryTotal` is in currency units (not E4), as the cuts are.
 */
export function valueTierOf(prediction: { readonly pAlive: number; readonly clv: number }, monetaryTotal: number, cuts: TierCuts, warningPAlive: number): ValueTier {
  if (prediction.pAlive < warningPAlive && monetaryTotal >= cuts.warningMonetary) return "warning";
  if (prediction.clv >= cuts.highValueClv) return "high_value";
  if (prediction.clv >= cuts.potentialClv) return "potential";
  return "base";
}
