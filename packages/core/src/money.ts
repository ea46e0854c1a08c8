/**
 * Money is folded exactly as an integer count of 1/10 000 of the reporting
 * currency's unit ("E4 units"): the contract allows up to 4 fraction digits, and
 * integer sums are exact where float sums are not. Totals stay well inside
 * Number.MAX_SAFE_INTEGER (≈ 900 billion currency units per customer); the fold
 * refuses an event that would leave that range rather than round.
 */
export const MONEY_SCALE = 10_000;

/** Largest single amount accepted: one billion currency units. */
export const MAX_AMOUNT_E4 = 1_000_000_000 * MONEY_SCALE;

const DECIMAL = /^(0|[1-9]\d{0,17})(?:\.(\d{1,4}))?$/;

/** Parses a non-negative decimal with up to 4 fraction digits into E4 units, or null if malformed. */
export function parseAmountE4(text: string): number | null {
  const match = DECIMAL.exec(text);
  if (!match) return null;
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? "").padEnd(4, "0"));
  const value = whole * MONEY_SCALE + fraction;
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * A JSON number such as 11.77 is exact here: JavaScript prints the shortest
 * decimal that reads back as the same double, so String(11.77) is "11.77".
 * Exponent forms (1e-7, 1e21) are rejected by the decimal pattern.
 */
export function amountToE4(value: string | number): number | null {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return null;
    return parseAmountE4(String(value));
  }
  return parseAmountE4(value);
}

/** Formats E4 units as a decimal string with at least 2 and at most 4 fraction digits: 1177000 → "117.70". */
export function formatE4(valueE4: number): string {
  const negative = valueE4 < 0;
  const absolute = Math.abs(valueE4);
  const whole = Math.floor(absolute / MONEY_SCALE);
  let fraction = String(absolute % MONEY_SCALE).padStart(4, "0");
  while (fraction.length > 2 && fraction.endsWith("0")) fraction = fraction.slice(0, -1);
  return `${negative ? "-" : ""}${whole}.${fraction}`;
}
