import type { EpochMs } from "./time.ts";

/**
 * The interaction score is Σ weight·2^(−(t − tᵢ)/halfLife) over events at tᵢ ≤ t.
 * It is stored as (value, at): the sum as of instant `at`, so the value at any
 * later time is one multiplication and the state need not be touched to read it.
 * An out-of-order event adds its already-decayed weight; the sum is the same
 * whatever the order, up to floating-point rounding (relative 1e-12).
 */
export interface DecayedScore {
  value: number;
  at: EpochMs;
}

export function scoreAt(score: DecayedScore, at: EpochMs, halfLifeMs: number): number {
  if (at <= score.at) return score.value;
  return score.value * Math.pow(2, -(at - score.at) / halfLifeMs);
}

export function addToScore(score: DecayedScore, weight: number, eventAt: EpochMs, halfLifeMs: number): DecayedScore {
  if (eventAt >= score.at) return { value: scoreAt(score, eventAt, halfLifeMs) + weight, at: eventAt };
  return { value: score.value + weight * Math.pow(2, -(score.at - eventAt) / halfLifeMs), at: score.at };
}

/** First instant at which the score is strictly below `floor`, or null if it never drops (already below, or floor 0). */
export function scoreFallsBelowAt(score: DecayedScore, floor: number, halfLifeMs: number): EpochMs | null {
  if (floor <= 0 || score.value < floor) return null;
  // The closed form is off by rounding near the crossing; settle the exact
  // millisecond with scoreAt itself, so the deadline agrees with the stage rules.
  let instant = Math.floor(score.at + halfLifeMs * Math.log2(score.value / floor));
  while (instant > score.at && scoreAt(score, instant, halfLifeMs) < floor) instant--;
  while (scoreAt(score, instant, halfLifeMs) >= floor) instant++;
  return instant;
}
