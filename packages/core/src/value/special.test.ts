import { describe, expect, it } from "vitest";
import { betaln, gammaln, hyp2f1, logHyp2f1 } from "./special.ts";

/** ln 2F1(a, b; c; z) from mpmath at 40 digits, in the region BG/NBD uses and where stdlib's connection formulas go wrong (z > 0.9, c − a − b near an integer). */
const LOG_HYP2F1: readonly (readonly [number, number, number, number, number])[] = [
  [2, 3.4259, 4.4259, 0.97, 4.569100327834906],
  [2.5, 3.4259, 4.9259, 0.93, 3.9190446324780193],
  [3, 7.25, 9.25, 0.95, 5.626534676335837],
  [0.2426, 2.4259, 2.2188, 0.5, 0.1879209166733611],
  [2.2426, 4.4259, 4.2188, 0.92, 6.058332406185209],
  [0.2426, 2.4259, 2.2188, 0.999, 2.4036689276441305],
  [82.2426, 82.4259, 82.2188, 0.95, 246.99728444032877],
  [1.5, 3, 3.5000000000001004, 0.97, 4.053989342213271],
  [0.2426, 2.4259, 2.2188, 0.3, 0.09562925859797532],
  [20.2426, 22.4259, 22.2188, 0.6, 18.72639430639476],
  [300.5, 302, 301.2, 0.93, 801.2333176384091],
  // stdlib overflows to Infinity here (≈ 10^420): the series answers in logarithms.
  [600.2426, 602.4259, 601.2188, 0.8, 967.9943808226349],
];

describe("special functions", () => {
  it("ln Γ and ln B agree with known values", () => {
    expect(gammaln(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 14);
    expect(gammaln(10)).toBeCloseTo(Math.log(362_880), 12);
    expect(betaln(2, 3)).toBeCloseTo(Math.log(1 / 12), 14);
  });

  it.each(LOG_HYP2F1)("ln 2F1(%d, %d; %d; %d) = %d to 1e-12 relative", (a, b, c, z, expected) => {
    expect(Math.abs(logHyp2f1(a, b, c, z) - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));
  });

  it("2F1 keeps its sign where c < 0 makes it negative, and 2F1(a, b; b; z) = (1 − z)^−a", () => {
    // mpmath: 2F1(0.5, 0.3; −0.2; 0.95) = −18.7605…
    expect(hyp2f1(0.5, 0.3, -0.2, 0.95)).toBeCloseTo(-Math.exp(2.9316219313011014), 10);
    expect(() => logHyp2f1(0.5, 0.3, -0.2, 0.95)).toThrow(RangeError);
    for (const z of [0.1, 0.91, 0.99]) expect(hyp2f1(1.7, 2.5, 2.5, z)).toBeCloseTo((1 - z) ** -1.7, 8);
  });

  it("refuses arguments outside its domain", () => {
    expect(() => logHyp2f1(1, 1, 1, 1)).toThrow(RangeError);
    expect(() => logHyp2f1(1, 1, -2, 0.5)).toThrow(RangeError);
    expect(() => logHyp2f1(-1, 1, 1, 0.5)).toThrow(RangeError);
  });
});
