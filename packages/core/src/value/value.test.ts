import { describe, expect, it } from "vitest";
import { bgnbdExpectedPurchases, bgnbdLogLikelihood, bgnbdPAlive, bgnbdUnconditionalExpectedPurchases, pAliveCrossingT } from "./bgnbd.ts";
import { clvFallsBelowT, DAYS_PER_MONTH, predictedClv, predictValue } from "./clv.ts";
import { fitBgnbd, fitGammaGamma } from "./fit.ts";
import { gammaGammaExpectedSpend } from "./gamma-gamma.ts";
import { minimize } from "./nelder-mead.ts";
import { holdoutActuals, summarizeTransactions } from "./summaries.ts";

/** The CDNOW fit (FHL 2005; Fader & Hardie 2013), in weeks. */
const BG = { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259 };
const GG = { p: 6.25, q: 3.74, v: 15.44 };
const SUMMARY = { x: 2, tx: 30.43, T: 38.86, meanSpend: 25 };
const YEAR = { horizonMonths: 12, monthlyDiscountRate: 0 };

describe("BG/NBD", () => {
  it("gives P(alive) = 1 for x = 0 and no crossing for it", () => {
    expect(bgnbdPAlive(BG, 0, 0, 50)).toBe(1);
    expect(pAliveCrossingT(BG, 0, 0, 0.5)).toBeNull();
  });

  it("answers tx when P(alive) is below theta already at T = tx", () => {
    const atTx = bgnbdPAlive(BG, 1, 10, 10);
    expect(pAliveCrossingT(BG, 1, 10, atTx + 0.01)).toBe(10);
    expect(pAliveCrossingT(BG, 1, 10, atTx - 0.01)).toBeGreaterThan(10);
  });

  it("expects no purchases in no time, and a new customer's conditional expectation is E[X(t)]", () => {
    expect(bgnbdExpectedPurchases(BG, 0, 2, 30, 39)).toBe(0);
    expect(bgnbdExpectedPurchases(BG, 52, 0, 0, 0)).toBeCloseTo(bgnbdUnconditionalExpectedPurchases(BG, 52), 12);
  });

  it("is continuous through a = 1, where (a + b + x − 1) / (a − 1) is 0 / 0", () => {
    const at = (a: number) => bgnbdExpectedPurchases({ ...BG, a }, 39, 2, 30.43, 38.86);
    expect(at(1)).toBeCloseTo((at(1 - 1e-3) + at(1 + 1e-3)) / 2, 6);
    expect(at(1 + 2e-6)).toBeCloseTo(at(1), 9);
    expect(bgnbdUnconditionalExpectedPurchases({ ...BG, a: 1 }, 39)).toBeCloseTo((bgnbdUnconditionalExpectedPurchases({ ...BG, a: 0.999 }, 39) + bgnbdUnconditionalExpectedPurchases({ ...BG, a: 1.001 }, 39)) / 2, 6);
  });

  it("takes a + b < 1, where 2F1 can be negative", () => {
    const params = { r: 0.5, alpha: 2, a: 0.4, b: 0.3 };
    for (const t of [1, 50, 500]) expect(bgnbdUnconditionalExpectedPurchases(params, t)).toBeGreaterThan(0);
    expect(Number.isFinite(bgnbdLogLikelihood(params, 3, 5, 9))).toBe(true);
  });
});

describe("Gamma-Gamma and CLV", () => {
  it("expects the population mean p·v / (q − 1) for x = 0 and moves towards meanSpend as x grows", () => {
    expect(gammaGammaExpectedSpend(GG, 0, 0)).toBeCloseTo((6.25 * 15.44) / 2.74, 12);
    expect(gammaGammaExpectedSpend(GG, 100, 80)).toBeGreaterThan(gammaGammaExpectedSpend(GG, 1, 80));
  });

  it("without discount is E[Y(H months)] times the expected spend; a discount lowers it", () => {
    const spend = gammaGammaExpectedSpend(GG, 2, 25);
    expect(predictedClv(BG, GG, SUMMARY, "week", YEAR)).toBeCloseTo(bgnbdExpectedPurchases(BG, (12 * DAYS_PER_MONTH) / 7, 2, 30.43, 38.86) * spend, 12);
    const discounted = predictedClv(BG, GG, SUMMARY, "week", { horizonMonths: 12, monthlyDiscountRate: 0.01 });
    expect(discounted).toBeLessThan(predictedClv(BG, GG, SUMMARY, "week", YEAR));
    expect(predictedClv(BG, GG, SUMMARY, "week", { horizonMonths: 12, monthlyDiscountRate: 1e-12 })).toBeCloseTo(predictedClv(BG, GG, SUMMARY, "week", YEAR), 8);
  });

  it("with a discount is Σ_m (E[Y(m months)] − E[Y(m − 1 months)]) · spend / (1 + d)^m", () => {
    const spend = gammaGammaExpectedSpend(GG, 2, 25);
    const month = DAYS_PER_MONTH / 7;
    let expected = 0;
    for (let m = 1; m <= 24; m++) expected += ((bgnbdExpectedPurchases(BG, m * month, 2, 30.43, 38.86) - bgnbdExpectedPurchases(BG, (m - 1) * month, 2, 30.43, 38.86)) * spend) / 1.02 ** m;
    expect(predictedClv(BG, GG, SUMMARY, "week", { horizonMonths: 24, monthlyDiscountRate: 0.02 })).toBeCloseTo(expected, 10);
    const nearOne = { ...BG, a: 1 + 1e-6 };
    let nearOneExpected = 0;
    for (let m = 1; m <= 3; m++) nearOneExpected += ((bgnbdExpectedPurchases(nearOne, m * month, 2, 30.43, 38.86) - bgnbdExpectedPurchases(nearOne, (m - 1) * month, 2, 30.43, 38.86)) * spend) / 1.02 ** m;
    expect(predictedClv(nearOne, GG, SUMMARY, "week", { horizonMonths: 3, monthlyDiscountRate: 0.02 })).toBeCloseTo(nearOneExpected, 10);
  });

  it("is the same in days with α in days", () => {
    const days = { ...SUMMARY, tx: SUMMARY.tx * 7, T: SUMMARY.T * 7 };
    expect(predictedClv({ ...BG, alpha: BG.alpha * 7 }, GG, days, "day", YEAR)).toBeCloseTo(predictedClv(BG, GG, SUMMARY, "week", YEAR), 10);
  });

  it("predictValue gathers P(alive), purchases over the horizon, spend and CLV", () => {
    const prediction = predictValue({ bgnbd: BG, gammaGamma: GG, unit: "week" }, SUMMARY, 273, YEAR);
    expect(prediction).toEqual({
      pAlive: bgnbdPAlive(BG, 2, 30.43, 38.86),
      expectedPurchases: bgnbdExpectedPurchases(BG, 39, 2, 30.43, 38.86),
      expectedSpend: gammaGammaExpectedSpend(GG, 2, 25),
      clv: predictedClv(BG, GG, SUMMARY, "week", YEAR),
    });
  });

  it("clvFallsBelowT answers fromT when CLV is below the cut already, and null for a cut no one falls below", () => {
    expect(clvFallsBelowT(BG, GG, SUMMARY, "week", YEAR, 1e9, 40)).toBe(40);
    expect(clvFallsBelowT(BG, GG, SUMMARY, "week", YEAR, 0, 40)).toBeNull();
    const T = clvFallsBelowT(BG, GG, SUMMARY, "week", YEAR, 10, 38.86)!;
    expect(predictedClv(BG, GG, { ...SUMMARY, T }, "week", YEAR)).toBeLessThan(10);
    expect(predictedClv(BG, GG, { ...SUMMARY, T: T - 1 / 10_080 }, "week", YEAR)).toBeGreaterThanOrEqual(10);
  });
});

describe("summaries", () => {
  const transactions = [
    { customerId: "a", day: 100, amount: 10 },
    { customerId: "a", day: 100, amount: 5 },
    { customerId: "a", day: 107, amount: 20 },
    { customerId: "a", day: 121, amount: 40 },
    { customerId: "a", day: 130, amount: 7 },
    { customerId: "b", day: 120, amount: 3 },
    { customerId: "c", day: 129, amount: 9 },
    { customerId: "b", day: 135, amount: 1 },
  ];

  it("count purchase days up to the calibration end, T to its start, spend over repeat days", () => {
    const summaries = summarizeTransactions(transactions, 128, "week");
    expect(Object.fromEntries(summaries)).toEqual({ a: { x: 2, tx: 3, T: 4, meanSpend: 30 }, b: { x: 0, tx: 0, T: 8 / 7, meanSpend: 0 } });
    expect(summarizeTransactions(transactions, 128, "day").get("a")).toEqual({ x: 2, tx: 21, T: 28, meanSpend: 30 });
  });

  it("hold-out actuals: repeat days and spend after the calibration end, for the calibration's customers only", () => {
    expect(Object.fromEntries(holdoutActuals(transactions, 128, 135))).toEqual({ a: { purchases: 1, spend: 7 }, b: { purchases: 1, spend: 1 } });
    expect(Object.fromEntries(holdoutActuals(transactions, 128, 134))).toEqual({ a: { purchases: 1, spend: 7 }, b: { purchases: 0, spend: 0 } });
  });

  it("fits the same model in days as in weeks (α × 7, r, a and b the same)", () => {
    const weekly = [
      { x: 0, tx: 0, T: 30, meanSpend: 0 },
      { x: 1, tx: 5, T: 20, meanSpend: 10 },
      { x: 3, tx: 25, T: 30, meanSpend: 20 },
      { x: 0, tx: 0, T: 10, meanSpend: 0 },
      { x: 6, tx: 18, T: 19, meanSpend: 30 },
      { x: 2, tx: 4, T: 35, meanSpend: 15 },
      { x: 1, tx: 1, T: 2, meanSpend: 12 },
      { x: 0, tx: 0, T: 5, meanSpend: 0 },
    ];
    const inWeeks = fitBgnbd(weekly);
    const inDays = fitBgnbd(weekly.map((summary) => ({ ...summary, tx: summary.tx * 7, T: summary.T * 7 })));
    expect(inDays.alpha / 7).toBeCloseTo(inWeeks.alpha, 5);
    for (const key of ["r", "a", "b"] as const) expect(inDays[key]).toBeCloseTo(inWeeks[key], 5);
    expect(fitGammaGamma(weekly).customers).toBe(5);
  });
});

describe("the simplex", () => {
  it("finds the minimum of a narrow valley to its tolerance, and says when it ran out of evaluations", () => {
    const rosenbrock = (x: Float64Array) => 100 * (x[1]! - x[0]! ** 2) ** 2 + (1 - x[0]!) ** 2;
    const found = minimize(rosenbrock, [-1.2, 1]);
    expect(found.converged).toBe(true);
    expect(found.x[0]).toBeCloseTo(1, 7);
    expect(found.x[1]).toBeCloseTo(1, 7);
    expect(minimize(rosenbrock, [-1.2, 1], { maxEvaluations: 50 }).converged).toBe(false);
  });
});
