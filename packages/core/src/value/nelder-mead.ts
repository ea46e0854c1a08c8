/**
 * Nelder-Mead downhill simplex, restarted from its own optimum until a restart no longer improves.
 *
 * Why not a library: of npm's optimisers, fmin 0.0.4 (Nelder-Mead, conjugate gradient) ships a UMD
 * build in a "type": "module" package (Node's ESM loader gets no exports from it), no types, and
 * a shrink step that assigns an undeclared variable (a ReferenceError in strict mode);
 * ml-levenberg-marquardt fits least squares, not a likelihood; optimization-js has a few thousand
 * downloads a month and numeric's uncmin was last released in 2012. A 4-parameter smooth
 * likelihood needs only the simplex, which is short, deterministic and needs no gradient.
 * Restarts are the usual cure for a simplex that collapses before the optimum (Nelder-Mead is not
 * guaranteed to converge); they also make the tolerance hold at the answer, not at a stall.
 */

export interface MinimizeOptions {
  /** Half-width of the first simplex along each axis. */
  readonly step: number;
  /** Stop when the simplex's values differ by at most this times max(1, |best value|)… */
  readonly valueTolerance: number;
  /** …and its vertices by at most this in every coordinate. */
  readonly pointTolerance: number;
  readonly maxEvaluations: number;
  /** Restarts at most, each from the last optimum with a simplex of width step / 10. */
  readonly maxRestarts: number;
}

export interface Minimum {
  readonly x: readonly number[];
  readonly value: number;
  /** Simplex iterations over all restarts. */
  readonly iterations: number;
  readonly evaluations: number;
  readonly restarts: number;
  /** False when maxEvaluations ran out before the tolerances held. */
  readonly converged: boolean;
}

/** Vertices this close (relative) are one point to within rounding. */
const COLLAPSED = 1e-14;

const DEFAULTS: MinimizeOptions = { step: 0.5, valueTolerance: 1e-13, pointTolerance: 1e-9, maxEvaluations: 200_000, maxRestarts: 20 };

/** Minimises f from x0 (f may return NaN or ±Infinity where it is undefined: such points count as +Infinity). */
export function minimize(f: (x: Float64Array) => number, x0: readonly number[], options: Partial<MinimizeOptions> = {}): Minimum {
  const settings = { ...DEFAULTS, ...options };
  const n = x0.length;
  let evaluations = 0;
  const value = (x: Float64Array) => {
    evaluations++;
    const fx = f(x);
    return Number.isNaN(fx) ? Infinity : fx;
  };
  const vertices = Array.from({ length: n + 1 }, () => new Float64Array(n));
  const values = new Float64Array(n + 1);
  const order = Array.from({ length: n + 1 }, (_, index) => index);
  const centroid = new Float64Array(n);
  const reflected = new Float64Array(n);
  const trial = new Float64Array(n);
  let best = Float64Array.from(x0);
  let bestValue = value(best);
  let iterations = 0;
  let rounds = 0;
  let settled = false;
  for (let round = 0; round <= settings.maxRestarts; round++) {
    rounds++;
    settled = false;
    const step = round === 0 ? settings.step : settings.step / 10;
    for (let vertex = 0; vertex <= n; vertex++) {
      vertices[vertex]!.set(best);
      if (vertex > 0) vertices[vertex]![vertex - 1]! += step;
      values[vertex] = vertex === 0 ? bestValue : value(vertices[vertex]!);
    }
    while (evaluations < settings.maxEvaluations) {
      order.sort((left, right) => values[left]! - values[right]! || left - right);
      const low = order[0]!;
      const high = order[n]!;
      const secondHigh = order[n - 1]!;
      if (converged(vertices, values, low, settings)) {
        settled = true;
        break;
      }
      iterations++;
      centroid.fill(0);
      for (const index of order) if (index !== high) for (let i = 0; i < n; i++) centroid[i]! += vertices[index]![i]! / n;
      const worst = vertices[high]!;
      for (let i = 0; i < n; i++) reflected[i] = 2 * centroid[i]! - worst[i]!;
      const reflectedValue = value(reflected);
      if (reflectedValue < values[low]!) {
        for (let i = 0; i < n; i++) trial[i] = 3 * centroid[i]! - 2 * worst[i]!;
        const expandedValue = value(trial);
        if (expandedValue < reflectedValue) replace(worst, trial, values, high, expandedValue);
        else replace(worst, reflected, values, high, reflectedValue);
      } else if (reflectedValue < values[secondHigh]!) {
        replace(worst, reflected, values, high, reflectedValue);
      } else {
        // Contract towards the better of the worst point and its reflection.
        const outside = reflectedValue < values[high]!;
        const from = outside ? reflected : worst;
        for (let i = 0; i < n; i++) trial[i] = 0.5 * (centroid[i]! + from[i]!);
        const contractedValue = value(trial);
        if (contractedValue < Math.min(reflectedValue, values[high]!)) {
          replace(worst, trial, values, high, contractedValue);
        } else {
          // Shrink every vertex halfway towards the best.
          const anchor = vertices[low]!;
          for (let vertex = 0; vertex <= n; vertex++) {
            if (vertex === low) continue;
            for (let i = 0; i < n; i++) vertices[vertex]![i] = 0.5 * (anchor[i]! + vertices[vertex]![i]!);
            values[vertex] = value(vertices[vertex]!);
          }
        }
      }
    }
    let low = 0;
    for (let vertex = 1; vertex <= n; vertex++) if (values[vertex]! < values[low]!) low = vertex;
    const improvement = bestValue - values[low]!;
    if (values[low]! < bestValue) {
      best = Float64Array.from(vertices[low]!);
      bestValue = values[low]!;
    }
    if (!settled) break;
    if (round > 0 && !(improvement > settings.valueTolerance * Math.max(1, Math.abs(bestValue)))) break;
  }
  return { x: Array.from(best), value: bestValue, iterations, evaluations, restarts: rounds - 1, converged: settled };
}

function replace(target: Float64Array, source: Float64Array, values: Float64Array, index: number, value: number): void {
  target.set(source);
  values[index] = value;
}

function converged(vertices: readonly Float64Array[], values: Float64Array, low: number, settings: MinimizeOptions): boolean {
  const valueTolerance = settings.valueTolerance * Math.max(1, Math.abs(values[low]!));
  let valuesClose = true;
  let collapsed = true;
  for (let vertex = 0; vertex < vertices.length; vertex++) {
    if (vertex === low) continue;
    if (!(Math.abs(values[vertex]! - values[low]!) <= valueTolerance)) valuesClose = false;
    for (let i = 0; i < vertices[low]!.length; i++) {
      const distance = Math.abs(vertices[vertex]![i]! - vertices[low]![i]!);
      if (distance > settings.pointTolerance) return false;
      if (distance > COLLAPSED * (1 + Math.abs(vertices[low]![i]!))) collapsed = false;
    }
  }
  // A simplex a few ulps wide cannot shrink further; rounding alone may keep its values apart.
  return valuesClose || collapsed;
}
