import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decideReason, STAGE_OF_REASON, tenurePhase } from "./classify.ts";
import type { CustomerEvent } from "./contract.ts";
import { DEFAULT_LIFECYCLE_CONFIG as config } from "./lifecycle-config.ts";
import { advanceTo, applyEvent, type StageTransition } from "./machine.ts";
import { formatE4 } from "./money.ts";
import { rfmScores, type RfmBoundaries } from "./rfm.ts";
import { evaluatedThrough, type CustomerState } from "./state.ts";
import { day, purchase, T0 } from "./testing/builders.ts";
import { foldAll } from "./testing/replay.ts";
import { DAY_MS } from "./time.ts";
import { viewAt, type CustomerView } from "./view.ts";

const boundaries: RfmBoundaries = { recencyDays: [30, 90, 180, 365], frequency: [1, 2, 3, 5], monetaryE4: [100_000, 300_000, 600_000, 1_200_000] };
const iso = (at: number) => new Date(at).toISOString();

function viewOf(state: CustomerState, at: number, clock: "requested" | "wall_clock" | "event_watermark" = "requested"): CustomerView {
  const answer = viewAt(state, { at, clock }, config, boundaries);
  if (!answer.ok) throw new Error(`refused: evaluated through ${iso(answer.evaluatedThrough)}`);
  return answer.view;
}

/** One customer's events over two years, in any order (late events included). */
const eventsArbitrary = fc
  .array(
    fc.record({ offset: fc.integer({ min: 0, max: 730 * DAY_MS }), kind: fc.constantFrom("purchase", "purchase", "login", "support"), amountE4: fc.integer({ min: 0, max: 2_000_000 }) }),
    { minLength: 1, maxLength: 30 },
  )
  .map((specs) =>
    specs.map(({ offset, kind, amountE4 }, index): CustomerEvent => {
      const base = { eventId: `e${index}`, customerId: "c", occurredAt: T0 + offset };
      if (kind === "purchase") return { ...base, type: "purchase", properties: { orderId: `o${index}`, amountE4, currency: "USD", quantity: null } };
      if (kind === "login") return { ...base, type: "login", properties: { channel: "web" } };
      return { ...base, type: "support", properties: { ticketId: `t${index}`, action: "opened", satisfaction: null } };
    }),
  );

describe("viewAt: one answer, one instant", () => {
  it("shows the stage the customer has at asOf, not the stage last written (a won-back customer who went quiet)", () => {
    // New on day 0, at risk on day 31 (not activated), churned on day 180, won back by a purchase on day 200.
    const { state } = foldAll([purchase(day(0), 40), purchase(day(200), 25)], config, day(200));
    expect(state!.stage).toBe("won_back");
    // Read on day 400 from a state last evaluated on day 200: risk low (day 245), the gap warning (day 290),
    // risk high (day 335) and churn (day 380) fall due in between.
    const view = viewOf(state!, day(400));
    expect(view).toMatchObject({
      asOf: iso(day(400)),
      asOfClock: "requested",
      stage: "churned",
      stageSince: iso(day(380)),
      churnRisk: "high",
      tenurePhase: "loyalty",
      nextDeadline: null,
      version: state!.version + 4,
    });
    expect(view.rfm).toEqual(rfmScores(state!, day(400), boundaries));
  });

  it("refuses a requested instant before the state's evaluated-through instant, and answers the pipeline's clock there at the state's own", () => {
    const { state } = foldAll([purchase(day(0)), purchase(day(10))], config);
    expect(viewAt(state!, { at: day(9), clock: "requested" }, config, null)).toEqual({ ok: false, evaluatedThrough: day(10) });
    const answer = viewAt(state!, { at: day(9), clock: "wall_clock" }, config, null);
    expect(answer.ok && answer.view.asOf).toBe(iso(day(10)));
    expect(answer.ok && answer.view.asOfClock).toBe("evaluated_through");
    expect(viewAt(state!, { at: day(10), clock: "event_watermark" }, config, null)).toMatchObject({ ok: true, view: { asOf: iso(day(10)), asOfClock: "event_watermark", stage: "active" } });
  });

  it("does not depend on how far the pipeline's timers have already run, and every field agrees with the stage rules at asOf", () => {
    fc.assert(
      fc.property(eventsArbitrary, fc.integer({ min: 0, max: 800 * DAY_MS }), fc.double({ min: 0, max: 1, noNaN: true }), (events, later, fraction) => {
        const { state } = foldAll(events, config);
        const through = evaluatedThrough(state!);
        const asOf = through + later;
        const view = viewOf(state!, asOf);
        // The pipeline may have fired some of the deadlines before asOf already: the answer is the same.
        const fired = advanceTo(state!, through + Math.floor(fraction * later), config).state;
        expect(viewOf(fired, asOf)).toEqual(view);

        const current = advanceTo(state!, asOf, config).state;
        expect(view.stage).toBe(STAGE_OF_REASON[decideReason(current, asOf, config)]);
        expect(Date.parse(view.stageSince)).toBeLessThanOrEqual(asOf);
        if (view.nextDeadline !== null) expect(Date.parse(view.nextDeadline)).toBeGreaterThan(asOf);
        expect(view.tenurePhase).toBe(tenurePhase(current, asOf, config));
        if (view.stage === "churned") expect(view.churnRisk).toBe("high");
        if (decideReason(current, asOf, config) === "PURCHASE_GAP_WARNING") expect(["medium", "high"]).toContain(view.churnRisk);
        expect(view.rfm).toEqual(rfmScores(current, asOf, boundaries));
      }),
      { numRuns: 300 },
    );
  });

  it("a stage change's snapshot, risk and RFM are the customer's at the change's own instant", () => {
    fc.assert(
      fc.property(eventsArbitrary, fc.integer({ min: 0, max: 800 }), (events, daysAfter) => {
        // Each transition with the state right after it: a timer's is the state advanced to its deadline.
        const changes: { transition: StageTransition; after: CustomerState }[] = [];
        let state: CustomerState | undefined;
        const collect = (before: CustomerState | undefined, transitions: readonly StageTransition[], after: CustomerState) => {
          for (const transition of transitions) {
            changes.push({ transition, after: transition.trigger === "timer" ? advanceTo(before!, transition.occurredAt, config).state : after });
          }
        };
        for (const event of events) {
          const step = applyEvent(state, event, config);
          collect(state, step.effects.flatMap((effect) => (effect.kind === "stage_changed" ? [effect.transition] : [])), step.state!);
          state = step.state;
        }
        const until = advanceTo(state!, evaluatedThrough(state!) + daysAfter * DAY_MS, config);
        collect(state, until.effects.flatMap((effect) => (effect.kind === "stage_changed" ? [effect.transition] : [])), until.state);

        for (const { transition, after } of changes) {
          const view = viewOf(after, transition.occurredAt);
          const { snapshot } = transition;
          expect(view.version).toBe(transition.version);
          expect(view.stage).toBe(transition.to);
          expect(view.stageSince).toBe(iso(transition.occurredAt));
          expect(view.churnRisk).toBe(transition.riskLevel);
          expect(view.interactionScore).toBe(Math.round(snapshot.interactionScore * 1e6) / 1e6);
          expect([view.purchaseCount, view.purchaseDays, view.monetaryTotal]).toEqual([snapshot.purchaseCount, snapshot.purchaseDays, formatE4(snapshot.monetaryE4)]);
          expect(view.tenurePhase).toBe(tenurePhase(after, transition.occurredAt, config));
          expect(snapshot.tenureDays).toBe(after.firstPurchaseAt === null ? null : Math.floor((transition.occurredAt - after.firstPurchaseAt) / DAY_MS));
          // The processor scores a change's snapshot at its occurredAt (partition-worker commitChanges).
          expect(rfmScores(snapshot, transition.occurredAt, boundaries)).toEqual(view.rfm);
        }
      }),
      { numRuns: 300 },
    );
  });
});
