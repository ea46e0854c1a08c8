import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CustomerEvent } from "./contract.ts";
import { DEFAULT_LIFECYCLE_CONFIG as config } from "./lifecycle-config.ts";
import { advanceTo, applyEvent, nextDeadline, type Effect } from "./machine.ts";
import { foldPartitionBatch, sweepHorizon, type BatchRecord, type PartitionRecord } from "./partition-fold.ts";
import { replayPopulation } from "./population.ts";
import { RISK_LEVELS } from "./stages.ts";
import { decodeState, encodeState } from "./state-codec.ts";
import { evaluatedThrough, type CustomerState } from "./state.ts";
import { day, purchase, T0 } from "./testing/builders.ts";
import { riskLevel } from "./thresholds.ts";
import { DAY_MS } from "./time.ts";

const recordsArbitrary = fc
  .array(
    fc.record({
      customer: fc.integer({ min: 0, max: 4 }),
      day: fc.integer({ min: 0, max: 700 }),
      jitter: fc.integer({ min: -20, max: 20 }),
      kind: fc.constantFrom("purchase", "purchase", "login"),
    }),
    { minLength: 1, maxLength: 50 },
  )
  .map((specs) =>
    specs
      .sort((left, right) => left.day - right.day)
      .map(({ customer, day: at, jitter, kind }, index): BatchRecord => {
        const base = { eventId: `e${index}`, customerId: `c${customer}`, occurredAt: T0 + Math.max(0, at + jitter) * DAY_MS + (index % 5) * 7_919_000 };
        const event: CustomerEvent =
          kind === "purchase"
            ? { ...base, type: "purchase", properties: { orderId: `o${index}`, amountE4: 250_000, currency: "USD", quantity: null } }
            : { ...base, type: "login", properties: { channel: null } };
        return { offset: String(index), event, receivedAt: 0 };
      }),
  );

const riskChangesOf = (effects: readonly { effect: Effect }[]) =>
  effects.flatMap(({ effect }) => (effect.kind === "risk_changed" ? [JSON.stringify(effect.change)] : [])).sort();

const sorted = (states: ReadonlyMap<string, CustomerState>) => new Map([...states].sort());

describe("churn-risk levels as signals", () => {
  it("after any log and any advance, the stored level is riskLevel at that instant", () => {
    fc.assert(
      fc.property(recordsArbitrary, fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 5 }), (records, waits) => {
        const replay = replayPopulation(records.map((record) => record.event), config);
        for (const state of replay.states.values()) {
          expect(state.riskLevel).toBe(riskLevel(state, evaluatedThrough(state), config));
          let current = state;
          let at = evaluatedThrough(state);
          for (const wait of [...waits].sort((left, right) => left - right)) {
            at = Math.max(at, evaluatedThrough(state) + wait * 3_600_000);
            current = advanceTo(current, at, config).state;
            expect(current.riskLevel).toBe(riskLevel(current, at, config));
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a timer fires a risk change at the exact crossing: the level a millisecond earlier is its from, at the instant its to", () => {
    let timerChanges = 0;
    fc.assert(
      fc.property(recordsArbitrary, (records) => {
        const states = new Map<string, CustomerState>();
        const check = (before: CustomerState | undefined, effects: readonly Effect[]) => {
          for (const effect of effects) {
            if (effect.kind !== "risk_changed" || effect.change.trigger !== "timer") continue;
            timerChanges++;
            const { occurredAt, from, to } = effect.change;
            expect(riskLevel(before!, occurredAt - 1, config)).toBe(from);
            expect(riskLevel(before!, occurredAt, config)).toBe(to);
            expect(RISK_LEVELS.indexOf(to)).toBeGreaterThan(RISK_LEVELS.indexOf(from));
          }
        };
        for (const { event } of records) {
          const before = states.get(event.customerId);
          const step = applyEvent(before, event, config);
          check(before, step.effects);
          if (step.state !== undefined) states.set(event.customerId, step.state);
        }
        for (const state of states.values()) check(state, advanceTo(state, T0 + 3000 * DAY_MS, config).effects);
      }),
      { numRuns: 200 },
    );
    expect(timerChanges).toBeGreaterThan(0);
  });

  it("a risk change is published only while the stage stays; a stage change carries the level", () => {
    fc.assert(
      fc.property(recordsArbitrary, (records) => {
        const replay = replayPopulation(records.map((record) => record.event), config, T0 + 3000 * DAY_MS);
        const stageChangeAt = new Set(replay.transitions.map((transition) => `${transition.customerId}@${transition.occurredAt}`));
        for (const change of replay.riskChanges) expect(stageChangeAt.has(`${change.customerId}@${change.occurredAt}`) && change.trigger === "timer").toBe(false);
        // Ids share the version sequence with stage changes: unique per customer.
        const ids = [...replay.transitions.map((transition) => transition.transitionId), ...replay.riskChanges.map((change) => change.changeId)];
        expect(new Set(ids).size).toBe(ids.length);
      }),
      { numRuns: 150 },
    );
  });

  it("batch splits: any split of a partition's records gives the same states and risk changes", () => {
    fc.assert(
      fc.property(
        recordsArbitrary,
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 20 }),
        fc.constantFrom(0, DAY_MS),
        fc.boolean(),
        (records, sizes, latenessMs, advance) => {
          const log: PartitionRecord[] = [...records];
          if (advance) log.push({ offset: "", clockAdvanceTo: T0 + 3000 * DAY_MS });
          const indexed = log.map((record, index) => ({ ...record, offset: String(index) }));
          const whole = foldPartitionBatch(new Map(), indexed, { watermark: null, latenessMs }, config);

          let states = new Map<string, CustomerState>();
          let watermark: number | null = null;
          const effects: { effect: Effect }[] = [];
          for (let start = 0, chunk = 0; start < indexed.length; chunk++) {
            const batch = indexed.slice(start, start + sizes[chunk % sizes.length]!);
            start += batch.length;
            const horizon = sweepHorizon(batch, { watermark, latenessMs });
            const loaded = new Map<string, CustomerState>();
            for (const [customerId, state] of states) {
              const deadline = nextDeadline(state, config);
              const inBatch = batch.some((record) => "event" in record && record.event.customerId === customerId);
              if (inBatch || (deadline !== null && horizon !== null && deadline <= horizon)) loaded.set(customerId, state);
            }
            const result = foldPartitionBatch(loaded, batch, { watermark, latenessMs }, config);
            states = new Map([...states, ...result.changed]);
            effects.push(...result.effects);
            watermark = result.watermark;
          }
          expect(sorted(states)).toEqual(sorted(whole.changed));
          expect(riskChangesOf(effects)).toEqual(riskChangesOf(whole.effects));
        },
      ),
      { numRuns: 250 },
    );
  });

  it("every rise and a fall by event occur over many logs (the properties above are not vacuous)", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(recordsArbitrary, (records) => {
        const replay = replayPopulation(records.map((record) => record.event), config, T0 + 3000 * DAY_MS);
        for (const change of replay.riskChanges) seen.add(`${change.from}>${change.to}:${change.trigger}`);
      }),
      { numRuns: 200, seed: 11 },
    );
    for (const expected of ["none>low:timer", "medium>high:timer"]) expect(seen).toContain(expected);
    expect([...seen].some((entry) => entry.endsWith(":event"))).toBe(true);
  });

  it("the state codec keeps the level and its instant", () => {
    const replay = replayPopulation([purchase(day(0)), purchase(day(9))], config, day(200));
    const state = replay.states.get("c1")!;
    expect(state.riskLevel).toBe("high");
    expect(decodeState("c1", encodeState(state))).toEqual(state);
  });
});
