import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.ts";

describe("Backoff", () => {
  it("doubles from the first pause up to the cap, and starts over after a success", () => {
    const backoff = new Backoff({ initialMs: 200, maxMs: 1000 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([200, 400, 800, 1000, 1000]);
    expect(backoff.failures).toBe(5);
    backoff.reset();
    expect([backoff.failures, backoff.upcomingMs, backoff.next()]).toEqual([0, 200, 200]);
  });

  it("with half jitter, every pause lies in the upper half of its nominal value", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 20 }), fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 30 }), (initialMs, factor, draws) => {
        let index = 0;
        const backoff = new Backoff({ initialMs, maxMs: initialMs * factor, jitter: "half", random: () => draws[index++ % draws.length]! });
        const plain = new Backoff({ initialMs, maxMs: initialMs * factor });
        for (let step = 0; step < draws.length; step++) {
          const nominal = plain.next();
          const pause = backoff.next();
          expect(pause).toBeGreaterThanOrEqual(nominal / 2);
          expect(pause).toBeLessThan(nominal + 1e-9);
        }
      }),
    );
  });

  it("refuses pauses that cannot work", () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(RangeError);
  });
});
