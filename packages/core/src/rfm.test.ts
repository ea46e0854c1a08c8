import { describe, expect, it } from "vitest";
import { DEFAULT_LIFECYCLE_CONFIG as config } from "./lifecycle-config.ts";
import { computeRfmBoundaries, parseRfmBoundaries, quantileSorted, RFM_SEGMENTS, rfmScores, rfmSegment, type RfmBoundaries } from "./rfm.ts";
import { day, login, purchase } from "./testing/builders.ts";
import { foldAll } from "./testing/replay.ts";

const boundaries: RfmBoundaries = {
  recencyDays: [10, 30, 90, 180],
  frequency: [1, 2, 3, 5],
  monetaryE4: [200_000, 500_000, 1_000_000, 5_000_000],
};

describe("RFM", () => {
  it("scores recency inversely and frequency/monetary directly from the boundaries", () => {
    const { state } = foldAll([purchase(day(0), 100), purchase(day(5), 100), purchase(day(8), 400)], config);
    expect(rfmScores(state!, day(10), boundaries)).toEqual({ recency: 5, frequency: 3, monetary: 5, cell: "535", segment: "Champions" });
    expect(rfmScores(state!, day(400), boundaries)).toMatchObject({ recency: 1, segment: "Can't lose" });
  });

  it("a prospect has no RFM", () => {
    expect(rfmScores(foldAll([login(day(0))], config).state!, day(1), boundaries)).toBeNull();
  });

  it("every score cell maps to a named segment", () => {
    const seen = new Set<string>();
    for (let r = 1; r <= 5; r++) for (let f = 1; f <= 5; f++) for (let m = 1; m <= 5; m++) seen.add(rfmSegment(r, f, m));
    expect([...seen].sort()).toEqual([...RFM_SEGMENTS].sort());
  });

  it("computes quantile boundaries from a population", () => {
    expect(quantileSorted([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantileSorted([1, 2], 0.5)).toBe(1.5);
    const states = [1, 2, 3, 4, 5].map((n) => foldAll(Array.from({ length: n }, (_, index) => purchase(day(index), 10, { customerId: `c${n}` })), config).state!);
    const computed = computeRfmBoundaries(states, day(10));
    expect(computed.frequency).toEqual([1.8, 2.6, 3.4, 4.2]);
    expect(computed.recencyDays).toEqual([6.8, 7.6, 8.4, 9.2]);
  });
});

describe("stored RFM boundaries", () => {
  it("accepts four ascending finite numbers per dimension and nothing else", () => {
    expect(parseRfmBoundaries(JSON.parse(JSON.stringify(boundaries)))).toEqual(boundaries);
    expect(parseRfmBoundaries({ ...boundaries, frequency: [3, 2, 1, 0] })).toBeNull();
    expect(parseRfmBoundaries({ ...boundaries, monetaryE4: [1, 2, 3] })).toBeNull();
    expect(parseRfmBoundaries({ ...boundaries, recencyDays: [1, 2, "3", 4] })).toBeNull();
    expect(parseRfmBoundaries(null)).toBeNull();
    expect(parseRfmBoundaries("x")).toBeNull();
  });
});
