import { describe, expect, it } from "vitest";
import { DEFAULT_LIFECYCLE_CONFIG as config, parseLifecycleConfig } from "./lifecycle-config.ts";
import { advanceTo, applyEvent, nextDeadline } from "./machine.ts";
import { riskLevel } from "./thresholds.ts";
import { STAGES, type Stage } from "./stages.ts";
import { day, login, purchase, support } from "./testing/builders.ts";
import { foldAll } from "./testing/replay.ts";
import { DAY_MS } from "./time.ts";

const path = (transitions: { to: Stage }[]) => transitions.map((transition) => transition.to);

describe("stage machine — the default lifecycle", () => {
  it("a visitor who never buys is a prospect with no deadline", () => {
    const { state, transitions } = foldAll([login(day(0)), login(day(3))], config, day(1000));
    expect(state?.stage).toBe("prospect");
    expect(transitions).toHaveLength(1);
    expect(transitions[0]).toMatchObject({ from: null, to: "prospect", reason: { code: "NO_PURCHASE" }, trigger: "event", version: 1 });
    expect(nextDeadline(state!, config)).toBeNull();
  });

  it("prospect → new on the first purchase", () => {
    const { transitions } = foldAll([login(day(0)), purchase(day(1), 20)], config);
    expect(path(transitions)).toEqual(["prospect", "new"]);
    expect(transitions[1]).toMatchObject({ from: "prospect", to: "new", reason: { code: "FIRST_PURCHASE" }, occurredAt: day(1) });
  });

  it("new → active on a repeat purchase inside the activation window", () => {
    const { transitions } = foldAll([purchase(day(0)), purchase(day(10))], config);
    expect(path(transitions)).toEqual(["new", "active"]);
    expect(transitions[1]!.reason).toMatchObject({ code: "REPEAT_PURCHASER", numbers: { purchaseDays: 2 } });
  });

  it("two purchases on the same UTC day are one purchase day: still new", () => {
    const { state } = foldAll([purchase(day(0)), purchase(day(0) + 3_600_000)], config);
    expect(state).toMatchObject({ stage: "new", purchaseCount: 2, purchaseDayList: [Math.floor(day(0) / DAY_MS)] });
  });

  it("a one-time buyer is at_risk when the activation window (day 31) ends, with no event", () => {
    const { state } = foldAll([purchase(day(0))], config);
    expect(nextDeadline(state!, config)).toBe(day(31));
    const step = advanceTo(state!, day(40), config);
    expect(step.state.stage).toBe("at_risk");
    expect(step.effects).toEqual([
      expect.objectContaining({
        kind: "stage_changed",
        transition: expect.objectContaining({ from: "new", to: "at_risk", trigger: "timer", occurredAt: day(31), reason: { code: "NOT_ACTIVATED", numbers: { tenureDays: 31, activationEndsDay: 31 } } }),
      }),
    ]);
  });

  it("a customer who stops buying goes at_risk then churned on timers alone", () => {
    const events = [purchase(day(0)), purchase(day(20)), purchase(day(40))];
    const { state } = foldAll(events, config);
    // mean gap 20 days → warn 2×20 = 40 days, churn 4×20 = 80 days after the last purchase
    const step = advanceTo(state!, day(365), config);
    const transitions = step.effects.flatMap((effect) => (effect.kind === "stage_changed" ? [effect.transition] : []));
    expect(transitions.map((transition) => [transition.from, transition.to, transition.occurredAt, transition.reason.code])).toEqual([
      ["active", "at_risk", day(80), "PURCHASE_GAP_WARNING"],
      ["at_risk", "churned", day(120), "PURCHASE_GAP_CHURN"],
    ]);
    expect(transitions[1]!.reason.numbers).toMatchObject({ gapDays: 80, churnAfterDays: 80, meanGapDays: 20, personalThresholds: 1 });
    expect(transitions[1]!.riskLevel).toBe("high");
    expect(nextDeadline(step.state, config)).toBeNull();
  });

  it("churned → won_back on a purchase, then active after the win-back period", () => {
    const { state, transitions } = foldAll([purchase(day(0)), purchase(day(20)), purchase(day(40)), purchase(day(200))], config, day(400));
    expect(path(transitions)).toEqual(["new", "active", "at_risk", "churned", "won_back", "active", "at_risk"]);
    const wonBack = transitions[4]!;
    expect(wonBack).toMatchObject({ from: "churned", to: "won_back", trigger: "event", occurredAt: day(200), reason: { code: "PURCHASE_AFTER_CHURN" } });
    expect(transitions[5]).toMatchObject({ from: "won_back", to: "active", trigger: "timer", occurredAt: day(290) });
    expect(state?.wonBackAt).toBeNull();
  });

  it("at_risk → active again when the customer buys before churning", () => {
    const { transitions } = foldAll([purchase(day(0)), purchase(day(20)), purchase(day(40)), purchase(day(100))], config);
    expect(path(transitions)).toEqual(["new", "active", "at_risk", "active"]);
  });

  it("loyal: loyalty tenure (day 181) with ≥ 4 purchase days and ≥ 100.00 spent", () => {
    const events = [0, 30, 60, 90, 120, 150, 170].map((n) => purchase(day(n), 20));
    const { state, transitions } = foldAll(events, config);
    expect(state?.stage).toBe("active");
    expect(nextDeadline(state!, config)).toBe(day(181));
    const step = advanceTo(state!, day(181), config);
    expect(step.state.stage).toBe("loyal");
    expect(step.effects[0]).toMatchObject({ transition: { from: "active", to: "loyal", reason: { code: "LOYALTY_THRESHOLDS_MET", numbers: { tenureDays: 181, purchaseDays: 7, monetary: 140 } } } });
    expect(path(transitions)).toEqual(["new", "active"]);
  });

  it("a low spender in the loyalty phase stays active", () => {
    const events = [0, 30, 60, 90, 120, 150, 170].map((n) => purchase(day(n), 1));
    const { state } = foldAll(events, config, day(190));
    expect(state?.stage).toBe("active");
  });

  it("at_risk by interaction score below its floor", () => {
    const custom = parseLifecycleConfig({ score: { floor: 0.6 } });
    const { state } = foldAll([purchase(day(0)), purchase(day(1))], custom);
    // score = 1 + 2^(−1/30) ≈ 1.977 at day 1, halving every 30 days → below 0.6 at day 1 + 30·log2(1.977/0.6) ≈ 52.6
    const step = advanceTo(state!, day(60), custom);
    expect(step.state.stage).toBe("at_risk");
    expect(step.effects.find((effect) => effect.kind === "stage_changed")).toMatchObject({ transition: { reason: { code: "SCORE_BELOW_FLOOR" } } });
    const crossing = step.state.stageSince;
    expect(crossing).toBeGreaterThan(day(52.5));
    expect(crossing).toBeLessThan(day(52.7));
  });

  it("every default stage is reachable", () => {
    const seen = new Set<Stage>();
    for (const events of [
      [login(day(0))],
      [purchase(day(0)), purchase(day(20)), purchase(day(40)), purchase(day(200))],
      [0, 30, 60, 90, 120, 150, 170].map((n) => purchase(day(n), 20)),
    ]) {
      for (const transition of foldAll(events, config, day(800)).transitions) seen.add(transition.to);
    }
    expect([...seen].sort()).toEqual([...STAGES].sort());
  });
});

describe("stage machine — events and time", () => {
  it("a deadline before an event fires first, with its own version and time", () => {
    const { transitions, effects, state } = foldAll([purchase(day(0)), purchase(day(50))], config);
    expect(transitions.map((transition) => [transition.to, transition.version, transition.trigger, transition.occurredAt])).toEqual([
      ["new", 1, "event", day(0)],
      ["at_risk", 2, "timer", day(31)],
      ["active", 4, "event", day(50)],
    ]);
    // Within at_risk (not activated) the gap reaches half the warn threshold (90 days) on day 45.
    const risk = effects.flatMap((effect) => (effect.kind === "risk_changed" ? [effect.change] : []));
    expect(risk).toMatchObject([{ changeId: "c1:3", from: "none", to: "low", stage: "at_risk", occurredAt: day(45), trigger: "timer", reason: { code: "GAP_AT_LOW" } }]);
    expect(state?.version).toBe(4);
    expect(transitions.map((transition) => transition.transitionId)).toEqual(["c1:1", "c1:2", "c1:4"]);
  });

  it("a late purchase changes totals exactly but does not rewrite published history", () => {
    const { state, transitions } = foldAll([purchase(day(0), 10), login(day(60)), purchase(day(10), 5)], config);
    // Timer at day 31 (not activated) was published before the late purchase arrived at "now" = day 60.
    expect(path(transitions)).toEqual(["new", "at_risk", "active"]);
    expect(transitions[2]).toMatchObject({ occurredAt: day(60), trigger: "event" });
    expect(state).toMatchObject({ purchaseCount: 2, monetaryE4: 150_000, firstPurchaseAt: day(0), lastPurchaseAt: day(10) });
  });

  it("a purchase dated before the churn instant is a correction, not a win-back", () => {
    const { state, transitions } = foldAll([purchase(day(0)), purchase(day(20)), purchase(day(40)), login(day(150)), purchase(day(100))], config);
    // Churned at day 120 (gap 80 ≥ 4 × 20). The late day-100 purchase makes the mean gap 33.3 days
    // (churn 133, warn 66.7), so at "now" (day 150) the gap is 50: active again, but not won back.
    expect(path(transitions)).toEqual(["new", "active", "at_risk", "churned", "active"]);
    expect(transitions[4]).toMatchObject({ occurredAt: day(150), reason: { code: "REPEAT_PURCHASER" } });
    expect(state?.wonBackAt).toBeNull();
  });

  it("duplicates change nothing and are reported", () => {
    const first = purchase(day(0), 10, { eventId: "same" });
    const step1 = applyEvent(undefined, first, config);
    const step2 = applyEvent(step1.state, { ...first, properties: { ...first.properties, amountE4: 999 } } as typeof first, config);
    expect(step2.state).toBe(step1.state);
    expect(step2.effects).toEqual([{ kind: "duplicate_ignored", eventId: "same" }]);
  });

  it("another currency is rejected with a clear reason and no state change", () => {
    const euro = purchase(day(0));
    const step = applyEvent(undefined, { ...euro, properties: { ...euro.properties, currency: "EUR" } } as typeof euro, config);
    expect(step.state).toBeUndefined();
    expect(step.effects).toEqual([{ kind: "event_rejected", eventId: euro.eventId, reason: "currency EUR is not the reporting currency USD" }]);
  });

  it("an event for another customer is rejected", () => {
    const step = applyEvent(foldAll([login(day(0))], config).state, login(day(1), { customerId: "other" }), config);
    expect(step.effects[0]).toMatchObject({ kind: "event_rejected" });
  });

  it("support and login counters, and the last satisfaction by event time", () => {
    const { state } = foldAll(
      [support(day(5), "opened"), support(day(6), "escalated"), support(day(9), "resolved", 4), support(day(7), "resolved", 1), login(day(1))],
      config,
    );
    expect(state).toMatchObject({ supportOpened: 1, supportEscalated: 1, supportResolved: 2, lastSatisfaction: 4, lastSatisfactionAt: day(9), logins: 1 });
    expect(state?.firstSeenAt).toBe(day(1));
    expect(state?.lastEventAt).toBe(day(9));
  });

  it("risk levels grow with the gap: none, low, medium, high", () => {
    const { state } = foldAll([purchase(day(0)), purchase(day(20)), purchase(day(40))], config);
    // warn 40 days, churn 80 days after day 40: low from 20, medium from 40, high from 60
    expect(riskLevel(state!, day(50), config)).toBe("none");
    expect(riskLevel(state!, day(60), config)).toBe("low");
    expect(riskLevel(state!, day(80), config)).toBe("medium");
    expect(riskLevel(state!, day(100), config)).toBe("high");
  });

  it("personal thresholds are clamped to floor and ceiling", () => {
    const fast = foldAll([purchase(day(0)), purchase(day(1)), purchase(day(2))], config).state!;
    expect(advanceTo(fast, day(400), config).effects.flatMap((effect) => (effect.kind === "stage_changed" ? [[effect.transition.to, effect.transition.occurredAt]] : []))).toEqual([
      ["at_risk", day(2 + 30)], // 2 × 1 day → warn floor 30
      ["churned", day(2 + 60)], // 4 × 1 day → churn floor 60
    ]);
  });

  it("won_back can be disabled: a purchase after churn is simply active again", () => {
    const custom = parseLifecycleConfig({ wonBack: { periodDays: 0 } });
    const { transitions } = foldAll([purchase(day(0)), purchase(day(20)), purchase(day(40)), purchase(day(200))], custom);
    expect(path(transitions)).toEqual(["new", "active", "at_risk", "churned", "active"]);
  });
});
