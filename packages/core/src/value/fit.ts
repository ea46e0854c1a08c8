/**
 * Maximum-likelihood fits of BG/NBD and Gamma-Gamma. Both optimise over the logarithms of their
 * parameters (so they stay positive) from a fixed starting point, and loop over distinct inputs
 * with weights: 23,570 CDNOW customers are a few thousand (x, tx, T) triples, and the gamma and
 * beta terms depend on x alone, so they are computed once per distinct x.
 */
import { betaln, gammaln } from "./special.ts";
import { minimize } from "./nelder-mead.ts";
import type { BgnbdFit, GammaGammaFit, ValueSummary } from "./types.ts";

/** A fit and what it cost. */
export interface FitReport<Fit> {
  readonly fit: Fit;
  /** Distinct inputs the likelihood loops over: (x, tx, T) triples, or (x, meanSpend) pairs. */
  readonly distinct: number;
  readonly iterations: number;
  readonly evaluations: number;
  readonly restarts: number;
  /** False when the optimiser ran out of evaluations before its tolerances held (the fit is then the best point it reached). */
  readonly converged: boolean;
}

/** Starting point, in log space: every parameter 1. */
const BGNBD_START = [0, 0, 0, 0];
const GAMMA_GAMMA_START = [0, 0, 0];

/** BG/NBD's r, α, a, b by maximum likelihood over the summaries. */
export function fitBgnbd(summaries: Iterable<ValueSummary>): BgnbdFit {
  return fitBgnbdReport(summaries).fit;
}

/** Gamma-Gamma's p, q, v by maximum likelihood over the summaries with x > 0 and meanSpend > 0. */
export function fitGammaGamma(summaries: Iterable<ValueSummary>): GammaGammaFit {
  return fitGammaGammaReport(summaries).fit;
}

/** fitBgnbd with its iteration and evaluation counts. */
export function fitBgnbdReport(summaries: Iterable<ValueSummary>): FitReport<BgnbdFit> {
  const groups = new Map<string, { x: number; tx: number; T: number; weight: number }>();
  let customers = 0;
  for (const { x, tx, T } of summaries) {
    customers++;
    const key = `${x},${tx},${T}`;
    const group = groups.get(key);
    if (group) group.weight++;
    else groups.set(key, { x, tx, T, weight: 1 });
  }
  if (customers === 0) throw new RangeError("fitBgnbd: no customers");
  const triples = [...groups.values()];
  const distinctX = [...new Set(triples.map((triple) => triple.x))].sort((left, right) => left - right);
  const xIndexOf = new Map(distinctX.map((x, index) => [x, index]));
  const xs = Float64Array.from(distinctX);
  const xIndex = Int32Array.from(triples, (triple) => xIndexOf.get(triple.x)!);
  const Ts = Float64Array.from(triples, (triple) => triple.T);
  const txs = Float64Array.from(triples, (triple) => triple.tx);
  const weights = Float64Array.from(triples, (triple) => triple.weight);
  const head = new Float64Array(xs.length);
  const logDropWeight = new Float64Array(xs.length);

  const negativeLogLikelihood = (theta: Float64Array): number => {
    const r = Math.exp(theta[0]!);
    const alpha = Math.exp(theta[1]!);
    const a = Math.exp(theta[2]!);
    const b = Math.exp(theta[3]!);
    const shared = -gammaln(r) + r * theta[1]! - betaln(a, b);
    for (let k = 0; k < xs.length; k++) {
      const x = xs[k]!;
      head[k] = gammaln(r + x) + betaln(a, b + x) + shared;
      logDropWeight[k] = x > 0 ? theta[2]! - Math.log(b + x - 1) : -Infinity;
    }
    let total = 0;
    for (let i = 0; i < Ts.length; i++) {
      const k = xIndex[i]!;
      const shape = r + xs[k]!;
      const alive = -shape * Math.log(alpha + Ts[i]!);
      let tail = alive;
      if (xs[k]! > 0) {
        const dropped = logDropWeight[k]! - shape * Math.log(alpha + txs[i]!);
        tail = alive > dropped ? alive + Math.log1p(Math.exp(dropped - alive)) : dropped + Math.log1p(Math.exp(alive - dropped));
      }
      total += weights[i]! * (head[k]! + tail);
    }
    return -total;
  };
  const minimum = minimize(negativeLogLikelihood, BGNBD_START);
  const [r, alpha, a, b] = minimum.x.map(Math.exp) as [number, number, number, number];
  return {
    fit: { r, alpha, a, b, logLikelihood: -minimum.value, customers },
    distinct: triples.length,
    iterations: minimum.iterations,
    evaluations: minimum.evaluations,
    restarts: minimum.restarts,
    converged: minimum.converged,
  };
}

/** fitGammaGamma with its iteration and evaluation counts. */
export function fitGammaGammaReport(summaries: Iterable<ValueSummary>): FitReport<GammaGammaFit> {
  const groups = new Map<string, { x: number; meanSpend: number; weight: number }>();
  let customers = 0;
  for (const { x, meanSpend } of summaries) {
    if (!(x > 0 && meanSpend > 0)) continue;
    customers++;
    const key = `${x},${meanSpend}`;
    const group = groups.get(key);
    if (group) group.weight++;
    else groups.set(key, { x, meanSpend, weight: 1 });
  }
  if (customers === 0) throw new RangeError("fitGammaGamma: no customers with a repeat purchase and a positive mean spend");
  const pairs = [...groups.values()];
  const distinctX = [...new Set(pairs.map((pair) => pair.x))].sort((left, right) => left - right);
  const xIndexOf = new Map(distinctX.map((x, index) => [x, index]));
  const xs = Float64Array.from(distinctX);
  const logXs = xs.map(Math.log);
  const xWeights = new Float64Array(xs.length);
  const xIndex = Int32Array.from(pairs, (pair) => xIndexOf.get(pair.x)!);
  const spends = Float64Array.from(pairs, (pair) => pair.meanSpend);
  const logSpends = spends.map(Math.log);
  const weights = Float64Array.from(pairs, (pair) => pair.weight);
  for (let i = 0; i < pairs.length; i++) xWeights[xIndex[i]!]! += weights[i]!;

  const negativeLogLikelihood = (theta: Float64Array): number => {
    const p = Math.exp(theta[0]!);
    const q = Math.exp(theta[1]!);
    const v = Math.exp(theta[2]!);
    const shared = -gammaln(q) + q * theta[2]!;
    let total = 0;
    // Terms that depend on x alone, once per distinct x with the weight of its customers.
    for (let k = 0; k < xs.length; k++) {
      const px = p * xs[k]!;
      total += xWeights[k]! * (gammaln(px + q) - gammaln(px) + shared + px * logXs[k]!);
    }
    for (let i = 0; i < spends.length; i++) {
      const x = xs[xIndex[i]!]!;
      const px = p * x;
      total += weights[i]! * ((px - 1) * logSpends[i]! - (px + q) * Math.log(v + x * spends[i]!));
    }
    return -total;
  };
  const minimum = minimize(negativeLogLikelihood, GAMMA_GAMMA_START);
  const [p, q, v] = minimum.x.map(Math.exp) as [number, number, number];
  return {
    fit: { p, q, v, logLikelihood: -minimum.value, customers },
    distinct: pairs.length,
    iterations: minimum.iterations,
    evaluations: minimum.evaluations,
    restarts: minimum.restarts,
    converged: minimum.converged,
  };
}
