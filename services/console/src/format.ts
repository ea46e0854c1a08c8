/**
 * How the pages write numbers; the browser test writes the views' numbers the same way to compare.
 * Counts arrive as decimal strings (64-bit), money as exact decimal text, rates as numbers.
 */

const group = (digits: string) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** 12345 → "12,345". */
export function formatCount(value: string | number): string {
  const text = String(value);
  return text.startsWith("-") ? `-${group(text.slice(1))}` : group(text);
}

/**
 * Exact decimal text → grouped, with 2 fraction digits, and more only where they are not zero:
 * "1234.5600" → "1,234.56", "0.1250" → "0.125", "7" → "7.00". No float on the way.
 */
export function formatMoney(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (match === null) return text;
  const fraction = (match[3] ?? "").replace(/0+$/, "").padEnd(2, "0");
  return `${match[1]}${group(match[2]!)}.${fraction}`;
}

/** A ratio as a percentage with one decimal: 0.4567 → "45.7%". `part / whole` when given as counts (0 when whole is 0). */
export function formatRatio(ratio: number): string {
  return `${(Math.round(ratio * 1000) / 10).toFixed(1)}%`;
}

export function ratioOf(part: string | number, whole: string | number): number {
  return Number(whole) === 0 ? 0 : Number(part) / Number(whole);
}

/** A model's float money figure (predicted CLV, tier cuts) in currency units, rounded to cents: 1234.567 → "1,234.57". */
export function formatAmount(value: number): string {
  return formatMoney(value.toFixed(2));
}

/** A fitted model parameter with 4 fraction digits: 0.24264 → "0.2426". */
export function formatParameter(value: number): string {
  return value.toFixed(4);
}
