/**
 * Gamma-Gamma (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): a customer's spend
 * per transaction is Gamma(p, ν) with ν ~ Gamma(q, v) across customers; x is the number of
 * transactions a mean spend is over (here: repeat purchase days).
 */
import type { GammaGammaParams } from "./types.ts";
import { gammaln } from "./special.ts";

/** ln of one customer's likelihood of mean spend meanSpend over x > 0 transactions (F&H 2013, eq. 5 as a density of the mean). */
export function gammaGammaLogLikelihood(params: GammaGammaParams, x: number, meanSpend: number): number {
  const { p, q, v } = params;
  const px = p * x;
  return gammaln(px + q) - gammaln(px) - gammaln(q) + q * Math.log(v) + (px - 1) * Math.log(meanSpend) + px * Math.log(x) - (px + q) * Math.log(v + x * meanSpend);
}

/** Σ ln L over the customers Gamma-Gamma is fitted on: x > 0 and meanSpend > 0 (the others are skipped). */
export function gammaGammaTotalLogLikelihood(params: GammaGammaParams, customers: Iterable<{ readonly x: number; readonly meanSpend: number }>): number {
  let total = 0;
  for (const { x, meanSpend } of customers) if (x > 0 && meanSpend > 0) total += gammaGammaLogLikelihood(params, x, meanSpend);
  return total;
}

/** E[spend per transaction | x, meanSpend] (F&H 2013, eq. 6): a weighted mean of the population mean p·v / (q − 1) and meanSpend; the population mean for x = 0. */
export function gammaGammaExpectedSpend(params: GammaGammaParams, x: number, meanSpend: number): number {
  const { p, q, v } = params;
  if (x === 0) return (p * v) / (q - 1);
  return (p * (v + x * meanSpend)) / (p * x + q - 1);
}
