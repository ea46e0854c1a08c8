import {
  classify,
  computeRfmBoundaries,
  createInputEventSchema,
  DAY_MS,
  DEFAULT_LIFECYCLE_CONFIG as config,
  parseInputEvent,
  replayPopulation,
  rfmScores,
  stageDistribution,
  STAGES,
  type CustomerEvent,
  type PopulationReplay,
} from "@clm/core";
import { beforeAll, describe, expect, it } from "vitest";
import { readCdnowFile } from "./cdnow.ts";

/**
 * The whole real CDNOW log (69,659 purchases, 23,570 customers) through the pure
 * core, checked against an independent computation from the raw rows. Here, beside the
 * reader, because the core's own tests do not depend on this package (it depends on the core).
 */
const END = Date.UTC(1998, 6, 1); // the log runs to 1998-06-30

let events: CustomerEvent[];
let replay: PopulationReplay;
let rows: Awaited<ReturnType<typeof readCdnowFile>>["events"];

beforeAll(async () => {
  rows = (await readCdnowFile()).events;
  const schema = createInputEventSchema({ reportingCurrency: "USD" });
  events = rows.map((row) => {
    const parsed = parseInputEvent(schema, row);
    if (!parsed.ok) throw new Error(`row ${row.eventId}: ${JSON.stringify(parsed.errors)}`);
    return parsed.event;
  });
  events.sort((left, right) => left.occurredAt - right.occurredAt);
  replay = replayPopulation(events, config, END);
});

describe("CDNOW replay through the pure core", () => {
  it("folds every purchase once, for every customer", () => {
    expect(replay.applied).toBe(69_659);
    expect(replay.duplicates).toBe(0);
    expect(replay.rejected).toEqual([]);
    expect(replay.states.size).toBe(23_570);
  });

  it("totals equal an independent computation from the raw rows (exact decimals)", () => {
    const expected = new Map<string, { count: number; cents: bigint; days: Set<string>; first: string; last: string }>();
    for (const row of rows) {
      const entry = expected.get(row.customerId) ?? { count: 0, cents: 0n, days: new Set<string>(), first: row.occurredAt, last: row.occurredAt };
      entry.count++;
      entry.cents += BigInt(String(row.properties.amount).replace(".", ""));
      entry.days.add(row.occurredAt.slice(0, 10));
      if (row.occurredAt < entry.first) entry.first = row.occurredAt;
      if (row.occurredAt > entry.last) entry.last = row.occurredAt;
      expected.set(row.customerId, entry);
    }
    let grandTotalE4 = 0;
    const mismatches: string[] = [];
    for (const [customerId, entry] of expected) {
      const state = replay.states.get(customerId)!;
      const actual = [state.purchaseCount, BigInt(state.monetaryE4), state.purchaseDayList.length + state.purchaseDaysDropped, state.firstPurchaseAt, state.lastPurchaseAt];
      const wanted = [entry.count, entry.cents * 100n, entry.days.size, Date.parse(entry.first), Date.parse(entry.last)];
      if (actual.some((value, index) => value !== wanted[index])) mismatches.push(customerId);
      grandTotalE4 += state.monetaryE4;
    }
    expect(mismatches).toEqual([]);
    expect(expected.size).toBe(23_570);
    const rawTotalCents = rows.reduce((sum, row) => sum + BigInt(String(row.properties.amount).replace(".", "")), 0n);
    expect(BigInt(grandTotalE4)).toBe(rawTotalCents * 100n);
  });

  it("each customer's final stage is what the rules say at the end of the log", () => {
    const disagreeing = [...replay.states.values()].filter((state) => state.stage !== classify(state, END, config).stage);
    expect(disagreeing).toEqual([]);
    const distribution = stageDistribution(replay.states.values(), STAGES);
    expect(Object.values(distribution).reduce((sum, count) => sum + count, 0)).toBe(23_570);
    expect(distribution.prospect).toBe(0); // CDNOW holds only purchases
    expect(distribution.new).toBe(0); // the cohort was acquired in Q1 1997, long before the end
  });

  it("one-time buyers on population thresholds churn exactly when 180 days passed since their purchase", () => {
    const oneTimeBuyers = [...replay.states.values()].filter((state) => state.purchaseDayList.length === 1);
    // Their activation window (31 days) is long over at the end of the log: at_risk unless 180 days passed.
    const wrong = oneTimeBuyers.filter((state) => state.stage !== ((END - state.lastPurchaseAt!) / DAY_MS >= 180 ? "churned" : "at_risk"));
    expect(wrong).toEqual([]);
    expect(oneTimeBuyers.length).toBeGreaterThan(10_000);
  });

  it("every customer's transitions form one unbroken path with increasing versions", () => {
    const last = new Map<string, { to: string; version: number; at: number }>();
    const broken: string[] = [];
    for (const transition of replay.transitions) {
      const previous = last.get(transition.customerId);
      if (
        transition.from !== (previous?.to ?? null) ||
        (previous && (transition.version <= previous.version || transition.occurredAt < previous.at))
      ) {
        broken.push(transition.transitionId);
      }
      last.set(transition.customerId, { to: transition.to, version: transition.version, at: transition.occurredAt });
    }
    for (const [customerId, state] of replay.states) if (last.get(customerId)?.to !== state.stage) broken.push(customerId);
    expect(broken).toEqual([]);
    expect(replay.transitions.length).toBeGreaterThan(23_570);
  });

  it("gives every purchaser RFM scores and a segment from population quantiles", () => {
    const boundaries = computeRfmBoundaries(replay.states.values(), END);
    const segments = new Map<string, number>();
    for (const state of replay.states.values()) {
      const scores = rfmScores(state, END, boundaries)!;
      segments.set(scores.segment, (segments.get(scores.segment) ?? 0) + 1);
    }
    expect([...segments.values()].reduce((sum, count) => sum + count, 0)).toBe(23_570);
    expect(segments.get("Champions")).toBeGreaterThan(0);
    expect(segments.get("Lost")).toBeGreaterThan(0);
  });

  it("arrival order does not change any customer's totals", () => {
    // A deterministic shuffle (LCG): the same events, in a scrambled order.
    const shuffled = [...events];
    let seed = 42;
    for (let index = shuffled.length - 1; index > 0; index--) {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      const other = seed % (index + 1);
      [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
    }
    const scrambled = replayPopulation(shuffled, config);
    const totals = (state: { purchaseCount: number; monetaryE4: number; firstPurchaseAt: number | null; lastPurchaseAt: number | null; purchaseDayList: readonly number[] }) =>
      JSON.stringify([state.purchaseCount, state.monetaryE4, state.firstPurchaseAt, state.lastPurchaseAt, state.purchaseDayList]);
    const differing = [...scrambled.states].filter(([customerId, state]) => totals(state) !== totals(replay.states.get(customerId)!));
    expect(differing).toEqual([]);
    expect(scrambled.states.size).toBe(23_570);
  });
});
