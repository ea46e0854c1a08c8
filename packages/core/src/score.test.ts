import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addToScore, scoreAt, scoreFallsBelowAt } from "./score.ts";
import { DAY_MS } from "./time.ts";

describe("decayed interaction score", () => {
  it("halves every half-life and is read at any time without changing the state", () => {
    const score = { value: 8, at: 0 };
    expect(scoreAt(score, 30 * DAY_MS, 30 * DAY_MS)).toBeCloseTo(4, 12);
    expect(scoreAt(score, 90 * DAY_MS, 30 * DAY_MS)).toBeCloseTo(1, 12);
    expect(score).toEqual({ value: 8, at: 0 });
  });

  it("a late event adds its decayed weight: same sum as in order", () => {
    const halfLife = 10 * DAY_MS;
    const inOrder = addToScore(addToScore({ value: 0, at: 0 }, 1, 0, halfLife), 2, 10 * DAY_MS, halfLife);
    const late = addToScore(addToScore({ value: 0, at: 0 }, 2, 10 * DAY_MS, halfLife), 1, 0, halfLife);
    expect(late.at).toBe(inOrder.at);
    expect(late.value).toBeCloseTo(2.5, 12);
    expect(inOrder.value).toBeCloseTo(2.5, 12);
  });

  it("the floor crossing is the exact first millisecond below the floor", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 1000, noNaN: true }),
        fc.integer({ min: 0, max: 2_000_000_000_000 }),
        fc.integer({ min: 1, max: 365 }),
        fc.double({ min: 0.0001, max: 10, noNaN: true }),
        (value, at, halfLifeDays, floor) => {
          const score = { value, at };
          const halfLife = halfLifeDays * DAY_MS;
          const crossing = scoreFallsBelowAt(score, floor, halfLife);
          if (value < floor) {
            expect(crossing).toBeNull();
            return;
          }
          expect(crossing).not.toBeNull();
          expect(scoreAt(score, crossing!, halfLife)).toBeLessThan(floor);
          expect(scoreAt(score, crossing! - 1, halfLife)).toBeGreaterThanOrEqual(floor);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
