import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bgnbdExpectedPurchases, bgnbdPAlive, pAliveCrossingT } from "./bgnbd.ts";
import { clvFallsBelowT, predictedClv } from "./clv.ts";
import { summarizeTransactions, type ValueTransaction } from "./summaries.ts";
import type { BgnbdParams, ClvOptions, GammaGammaParams, ValueSummary, ValueUnit } from "./types.ts";

/** Properties over random parameters and customers, in the ranges fitted models and customers take. */

const double = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const bgArbitrary: fc.Arbitrary<BgnbdParams> = fc.record({ r: double(0.05, 5), alpha: double(0.5, 50), a: double(0.1, 5), b: double(0.2, 10) });
const ggArbitrary: fc.Arbitrary<GammaGammaParams> = fc.record({ p: double(0.5, 10), q: double(1.5, 10), v: double(1, 100) });
/** x repeat purchases, the last at tx, observed for T ≥ tx (x = 0 means tx = 0). */
const customerArbitrary = fc
  .record({ x: fc.integer({ min: 0, max: 40 }), tx: double(0, 100), since: double(0, 100), meanSpend: double(0, 200) })
  .map(({ x, tx, since, meanSpend }): ValueSummary => (x === 0 ? { x, tx: 0, T: since, meanSpend: 0 } : { x, tx, T: tx + since, meanSpend }));
const optionsArbitrary: fc.Arbitrary<ClvOptions> = fc.record({ horizonMonths: fc.integer({ min: 1, max: 24 }), monthlyDiscountRate: fc.constantFrom(0, 0.01, 0.05) });
const unitArbitrary = fc.constantFrom<ValueUnit>("week", "day");
const MINUTES_PER_DAY = 24 * 60;

describe("BG/NBD properties", () => {
  it("P(alive) is in (0, 1] and falls as T grows with x and tx fixed", () => {
    fc.assert(
      fc.property(bgArbitrary, customerArbitrary, double(0, 100), (bg, { x, tx, T }, later) => {
        const now = bgnbdPAlive(bg, x, tx, T);
        const then = bgnbdPAlive(bg, x, tx, T + later);
        expect(now).toBeGreaterThan(0);
        expect(now).toBeLessThanOrEqual(1);
        expect(then).toBeLessThanOrEqual(now);
      }),
    );
  });

  it("pAliveCrossingT is where P(alive) equals theta, with P(alive) ≥ theta before it; null for x = 0", () => {
    fc.assert(
      fc.property(bgArbitrary, customerArbitrary, double(0.01, 0.99), double(0, 1), (bg, { x, tx }, theta, fraction) => {
        const crossing = pAliveCrossingT(bg, x, tx, theta);
        if (x === 0) return void expect(crossing).toBeNull();
        expect(crossing).not.toBeNull();
        if (crossing === tx) return void expect(bgnbdPAlive(bg, x, tx, tx)).toBeLessThanOrEqual(theta);
        expect(crossing!).toBeGreaterThan(tx);
        expect(Math.abs(bgnbdPAlive(bg, x, tx, crossing!) - theta)).toBeLessThanOrEqual(1e-9 * theta);
        expect(bgnbdPAlive(bg, x, tx, tx + fraction * (crossing! - tx))).toBeGreaterThanOrEqual(theta * (1 - 1e-12));
      }),
    );
  });

  it("expected purchases are non-negative, grow with t and fall with T", () => {
    fc.assert(
      fc.property(bgArbitrary, customerArbitrary, double(0.1, 200), double(0.5, 100), double(0.5, 100), (bg, { x, tx, T }, t, longer, later) => {
        const expected = bgnbdExpectedPurchases(bg, t, x, tx, T);
        expect(expected).toBeGreaterThanOrEqual(0);
        expect(bgnbdExpectedPurchases(bg, t + longer, x, tx, T)).toBeGreaterThanOrEqual(expected * (1 - 1e-12));
        expect(bgnbdExpectedPurchases(bg, t, x, tx, T + later)).toBeLessThanOrEqual(expected * (1 + 1e-12));
      }),
    );
  });
});

describe("CLV properties", () => {
  it("clvFallsBelowT is where CLV is below the cut with CLV at or above it a minute earlier (or fromT itself), null only if it stays above for 100 years", () => {
    fc.assert(
      fc.property(bgArbitrary, ggArbitrary, customerArbitrary, unitArbitrary, optionsArbitrary, double(0.05, 1.5), double(0, 50), (bg, gg, summary, unit, options, share, wait) => {
        const clvAt = (T: number) => predictedClv(bg, gg, { ...summary, T }, unit, options);
        const fromT = summary.T + wait;
        const cut = clvAt(summary.T) * share;
        const T = clvFallsBelowT(bg, gg, summary, unit, options, cut, fromT);
        if (T === null) return void expect(clvAt(fromT + (100 * 365.25) / (unit === "week" ? 7 : 1))).toBeGreaterThanOrEqual(cut);
        expect(T).toBeGreaterThanOrEqual(fromT);
        expect(clvAt(T)).toBeLessThan(cut);
        if (T > fromT) expect(clvAt(T - 1 / MINUTES_PER_DAY / (unit === "week" ? 7 : 1))).toBeGreaterThanOrEqual(cut);
      }),
      { numRuns: 60 },
    );
  });
});

describe("summary properties", () => {
  const transactionArbitrary: fc.Arbitrary<ValueTransaction> = fc.record({
    customerId: fc.constantFrom("a", "b", "c", "d"),
    day: fc.integer({ min: 10_000, max: 10_120 }),
    amount: fc.integer({ min: 0, max: 100_000 }).map((cents) => cents / 100),
  });

  it("do not depend on the order of the transactions", () => {
    fc.assert(
      fc.property(fc.array(transactionArbitrary, { maxLength: 60 }), fc.array(fc.double({ noNaN: true }), { minLength: 60, maxLength: 60 }), unitArbitrary, (transactions, keys, unit) => {
        const shuffled = transactions.map((transaction, index) => ({ transaction, key: keys[index]! })).sort((left, right) => left.key - right.key).map(({ transaction }) => transaction);
        const asObject = (list: readonly ValueTransaction[]) => Object.fromEntries([...summarizeTransactions(list, 10_100, unit)].sort(([left], [right]) => left.localeCompare(right)));
        expect(asObject(shuffled)).toEqual(asObject(transactions));
        expect(asObject([...transactions].reverse())).toEqual(asObject(transactions));
      }),
    );
  });
});
