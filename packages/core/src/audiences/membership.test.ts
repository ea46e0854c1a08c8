import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CustomerEvent } from "../contract.ts";
import { DEFAULT_LIFECYCLE_CONFIG as config } from "../lifecycle-config.ts";
import { advanceTo, applyEvent, nextDeadline, refitCustomer, type Effect } from "../machine.ts";
import { foldPartitionBatch, sweepHorizon, type PartitionRecord } from "../partition-fold.ts";
import { replayPopulation } from "../population.ts";
import { RFM_SEGMENTS } from "../rfm.ts";
import { RISK_LEVELS, STAGES, TENURE_PHASES } from "../stages.ts";
import { decodeState, encodeState } from "../state-codec.ts";
import type { CustomerState } from "../state.ts";
import { T0 } from "../testing/builders.ts";
import { PUBLISHED_CDNOW_MODEL, purchaseLogArbitrary } from "../testing/value-logs.ts";
import { DAY_MS } from "../time.ts";
import type { ActiveValueModel } from "../value/stream.ts";
import { VALUE_TIERS } from "../value/types.ts";
import { audienceFilterSchema, audienceInputSchema, type ActiveAudiences, type AudienceDefinitions, type AudienceFilter } from "./definition.ts";
import { audienceMemberships } from "./membership.ts";

const MODEL = PUBLISHED_CDNOW_MODEL;
const VALUE: ActiveValueModel = { model: MODEL, activatedAt: T0 };
const RFM = { recencyDays: [20, 60, 120, 250], frequency: [1, 2, 3, 5], monetaryE4: [100_000, 250_000, 500_000, 1_000_000] } as const;

const recordsArbitrary = purchaseLogArbitrary({ customers: 5, maxLength: 40 });

const rangeArbitrary = (max: number) =>
  fc
    .tuple(fc.option(fc.integer({ min: 0, max: max * 1000 }), { nil: undefined }), fc.option(fc.integer({ min: 0, max: max * 1000 }), { nil: undefined }))
    .map(([min, high]) => [min === undefined ? undefined : min / 1000, high === undefined ? undefined : high / 1000] as const)
    .filter(([min, high]) => min !== undefined || high !== undefined)
    .map(([min, high]) => (min !== undefined && high !== undefined && min > high ? { min: high, max: min } : { min, max: high }));

const someOf = <T,>(values: readonly T[]) => fc.subarray([...values], { minLength: 1 });

const filterArbitrary: fc.Arbitrary<AudienceFilter> = fc.record(
  {
    stages: someOf(STAGES),
    valueTiers: someOf(VALUE_TIERS),
    rfmSegments: someOf(RFM_SEGMENTS),
    riskLevels: someOf(RISK_LEVELS),
    tenurePhases: someOf(TENURE_PHASES),
    monetary: rangeArbitrary(200),
    purchaseCount: rangeArbitrary(10),
    daysSinceLastPurchase: rangeArbitrary(400),
    interactionScore: rangeArbitrary(3),
    pAlive: rangeArbitrary(1),
    predictedClv: rangeArbitrary(60),
  },
  { requiredKeys: [] },
);

const definitionsArbitrary = (version: string) =>
  fc.array(filterArbitrary, { minLength: 1, maxLength: 6 }).map(
    (filters): AudienceDefinitions => ({
      version,
      audiences: filters.map((filter, index) => ({ id: `a${index}`, version: 1, name: `audience ${index}`, filter })),
      rfm: RFM,
    }),
  );

const audienceEffects = (effects: readonly { effect: Effect }[]) =>
  effects.flatMap(({ effect }) => (effect.kind === "audience_changed" || effect.kind === "stage_changed" ? [JSON.stringify(effect)] : [])).sort();

const sorted = (states: ReadonlyMap<string, CustomerState>) => new Map([...states].sort());

describe("audience memberships in the stream", () => {
  it("after any log and any wait, the stored memberships are the filters evaluated at that instant", () => {
    fc.assert(
      fc.property(recordsArbitrary, definitionsArbitrary("d1"), fc.boolean(), fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 1, maxLength: 4 }), (records, definitions, valued, waits) => {
        const value = valued ? VALUE : null;
        const audiences: ActiveAudiences = { definitions, activatedAt: T0 };
        const replay = replayPopulation(records.map((record) => record.event), config, undefined, value, audiences);
        for (const state of replay.states.values()) {
          expect(state.audienceIds).toEqual(audienceMemberships(state, state.audiencesReviewedAt!, definitions, config, value));
          let current = state;
          let at = state.audiencesReviewedAt!;
          for (const wait of [...waits].sort((left, right) => left - right)) {
            at = Math.max(at, state.audiencesReviewedAt! + wait * 3_600_000 + (wait % 7) * 13_337);
            current = advanceTo(current, at, config, value, audiences).state;
            expect(current.audienceIds).toEqual(audienceMemberships(current, at, definitions, config, value));
            const deadline = nextDeadline(current, config, value, audiences);
            if (deadline !== null) expect(deadline).toBeGreaterThan(at);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("batch splits, new definitions anywhere and the sweep reaching customers early or late give the same states and changes", () => {
    fc.assert(
      fc.property(
        recordsArbitrary,
        definitionsArbitrary("d1"),
        definitionsArbitrary("d2"),
        fc.nat(),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 20 }),
        fc.constantFrom(0, DAY_MS),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        (records, first, second, position, sizes, latenessMs, sweptEarly) => {
          const log: PartitionRecord[] = [...records];
          log.splice(position % (log.length + 1), 0, { offset: "", activateAudiences: second, activatedAt: null });
          // A third set soon after: a customer the sweep has not reached moves through both in turn.
          log.splice((position * 7) % (log.length + 1), 0, { offset: "", activateAudiences: { ...first, version: "d3" }, activatedAt: null });
          if (position % 2 === 0) log.push({ offset: "", clockAdvanceTo: T0 + 3000 * DAY_MS });
          const indexed = log.map((record, index) => ({ ...record, offset: String(index) }));
          const initial: ActiveAudiences = { definitions: first, activatedAt: T0 };

          const finish = (states: Map<string, CustomerState>, audiences: ActiveAudiences | null, effects: { effect: Effect }[], sweptThrough: number | null) => {
            for (const [customerId, state] of states) {
              const step = refitCustomer(state, VALUE, config, sweptThrough, audiences);
              states.set(customerId, step.state);
              for (const effect of step.effects) effects.push({ effect });
            }
            return states;
          };
          const whole = foldPartitionBatch(new Map(), indexed, { watermark: null, latenessMs }, config, VALUE, initial);
          const wholeEffects: { effect: Effect }[] = [...whole.effects];
          const wholeStates = finish(new Map(whole.changed), whole.audiences, wholeEffects, whole.sweptThrough);

          let states = new Map<string, CustomerState>();
          let watermark: number | null = null;
          let audiences: ActiveAudiences | null = initial;
          let sweptThrough: number | null = null;
          const effects: { effect: Effect }[] = [];
          for (let start = 0, chunk = 0; start < indexed.length; chunk++) {
            const batch = indexed.slice(start, start + sizes[chunk % sizes.length]!);
            start += batch.length;
            const horizon = sweepHorizon(batch, { watermark, latenessMs });
            const loaded = new Map<string, CustomerState>();
            for (const [customerId, state] of states) {
              const deadline = nextDeadline(state, config, VALUE, audiences);
              const inBatch = batch.some((record) => "event" in record && record.event.customerId === customerId);
              if (inBatch || (deadline !== null && horizon !== null && deadline <= horizon)) loaded.set(customerId, state);
            }
            const result = foldPartitionBatch(loaded, batch, { watermark, latenessMs }, config, VALUE, audiences);
            states = new Map([...states, ...result.changed]);
            effects.push(...result.effects);
            watermark = result.watermark;
            if (result.sweptThrough !== null) sweptThrough = Math.max(sweptThrough ?? result.sweptThrough, result.sweptThrough);
            if (result.audiences !== audiences) {
              audiences = result.audiences;
              // The audience sweep reaches some customers right after the activation.
              for (const [customerId, state] of states) {
                if (!sweptEarly[Number(customerId.slice(1))]) continue;
                const step = refitCustomer(state, VALUE, config, sweptThrough, audiences);
                states.set(customerId, step.state);
                for (const effect of step.effects) effects.push({ effect });
              }
            }
          }
          finish(states, audiences, effects, sweptThrough);
          expect(sorted(states)).toEqual(sorted(wholeStates));
          expect(audienceEffects(effects)).toEqual(audienceEffects(wholeEffects));
        },
      ),
      { numRuns: 120 },
    );
  }, 60_000);

  it("enters and leaves by event, timer and definition over many logs (the properties above are not vacuous)", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(recordsArbitrary, definitionsArbitrary("d1"), (records, definitions) => {
        const audiences: ActiveAudiences = { definitions, activatedAt: T0 };
        const replay = replayPopulation(records.map((record) => record.event), config, T0 + 3000 * DAY_MS, VALUE, audiences);
        for (const change of replay.audienceChanges) seen.add(`${change.change}:${change.trigger}`);
        // Ids share the version sequence with the customer's other changes.
        const ids = [...replay.transitions.map((transition) => transition.transitionId), ...replay.audienceChanges.map((change) => change.changeId)];
        expect(new Set(ids).size).toBe(ids.length);
      }),
      { numRuns: 200, seed: 5 },
    );
    for (const expected of ["entered:event", "left:event", "entered:timer", "left:timer"]) expect(seen).toContain(expected);
    const refit = refitCustomer(
      replayPopulation([records0()], config, undefined, null, { definitions: { version: "d1", audiences: [], rfm: null }, activatedAt: T0 }).states.get("c1")!,
      null,
      config,
      T0 + DAY_MS,
      { definitions: { version: "d2", audiences: [{ id: "all", version: 1, name: "all", filter: {} }], rfm: null }, activatedAt: T0 + DAY_MS },
    );
    expect(refit.effects).toMatchObject([{ kind: "audience_changed", change: { audienceId: "all", change: "entered", trigger: "definition", occurredAt: T0 + DAY_MS } }]);
  }, 60_000);

  it("the state codec keeps the memberships, their definitions version and instants", () => {
    const audiences: ActiveAudiences = { definitions: { version: "d-7", audiences: [{ id: "buyers", version: 3, name: "buyers", filter: { purchaseCount: { min: 1 } } }, { id: "quiet", version: 1, name: "quiet", filter: { daysSinceLastPurchase: { min: 30 } } }], rfm: null }, activatedAt: T0 };
    const state = applyEvent(undefined, records0(), config, 0, null, audiences).state!;
    expect(state.audienceIds).toEqual(["buyers"]);
    expect(state.audiencesReviewAt).toBe(T0 + 30 * DAY_MS);
    expect(decodeState("c1", encodeState(state))).toEqual(state);
  });

  it("validation names each problem's field", () => {
    const result = audienceInputSchema.safeParse({ name: "", filter: { stages: [], monetary: { min: 5, max: 1 }, colour: "red" } });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((issue) => issue.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["name", "filter.stages", "filter.monetary", "filter"]));
    expect(audienceFilterSchema.safeParse({ pAlive: { min: 0.2, max: 0.8 }, riskLevels: ["high"] }).success).toBe(true);
  });
});

function records0(): CustomerEvent {
  return { eventId: "p0", customerId: "c1", occurredAt: T0, type: "purchase", properties: { orderId: "o0", amountE4: 100_000, currency: "USD", quantity: null } };
}
