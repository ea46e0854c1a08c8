import { describe, expect, it } from "vitest";
import { OutboxAge } from "./outbox-age.ts";

describe("OutboxAge", () => {
  it("is 0 for an empty outbox and the age of the oldest unpublished commit otherwise", () => {
    const age = new OutboxAge();
    expect(age.oldestAgeMs(1_000)).toBe(0);
    age.appended(3, 1_000);
    age.appended(2, 5_000);
    expect(age.oldestAgeMs(11_000)).toBe(10_000);
    age.published(2); // one entry of the first commit is still there
    expect(age.oldestAgeMs(11_000)).toBe(10_000);
    age.published(1);
    expect(age.oldestAgeMs(11_000)).toBe(6_000);
    age.published(2);
    expect(age.oldestAgeMs(11_000)).toBe(0);
  });

  it("keeps growing while nothing is published (the alert's case)", () => {
    const age = new OutboxAge();
    age.appended(1, 0);
    age.observed(1, 60_000);
    expect(age.oldestAgeMs(600_000)).toBe(600_000);
  });

  it("reconciles with Redis: empty, published by another owner, or older entries of a former owner", () => {
    const age = new OutboxAge();
    age.appended(2, 1_000);
    age.observed(0, 2_000);
    expect(age.oldestAgeMs(3_000)).toBe(0);

    age.appended(2, 10_000);
    age.appended(2, 20_000);
    age.observed(2, 21_000); // someone else published the first two
    expect(age.oldestAgeMs(30_000)).toBe(10_000);

    const fresh = new OutboxAge();
    fresh.observed(5, 40_000); // a crashed owner's entries: first seen now
    expect(fresh.oldestAgeMs(50_000)).toBe(10_000);
    fresh.appended(1, 45_000);
    fresh.published(5);
    expect(fresh.oldestAgeMs(50_000)).toBe(5_000);
  });

  it("dates unknown older entries no later than the oldest known one", () => {
    const age = new OutboxAge();
    age.appended(1, 1_000);
    age.observed(3, 9_000);
    expect(age.oldestAgeMs(10_000)).toBe(9_000);
    age.published(2);
    expect(age.oldestAgeMs(10_000)).toBe(9_000);
    age.published(1);
    expect(age.oldestAgeMs(10_000)).toBe(0);
  });
});
