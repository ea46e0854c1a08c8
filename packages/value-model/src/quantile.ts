/**
 * The p-quantile of a sample by linear interpolation between order statistics — Hyndman & Fan's
 * type 7, the default of R's quantile() and NumPy's percentile(): with the values sorted
 * ascending as x[0..n−1], h = (n − 1)·p and Q(p) = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
 * A dozen lines rather than a dependency: tier cuts need nothing else, and this definition is the
 * one analysts get from the usual tools, so a cut can be checked in a notebook.
 */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError("the quantile of no values");
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile level ${p} is outside [0, 1]`);
  const sorted = Float64Array.from(values).sort();
  const h = (sorted.length - 1) * p;
  const low = Math.floor(h);
  const high = Math.min(low + 1, sorted.length - 1);
  return sorted[low]! + (h - low) * (sorted[high]! - sorted[low]!);
}
