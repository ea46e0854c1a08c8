import {
  createInputEventSchema,
  domainEventProblems,
  EVENT_TYPES,
  LOGIN_CHANNELS,
  parseInputEvent,
  RISK_LEVELS,
  STAGES,
  SUPPORT_ACTIONS,
  applyEvent,
  DEFAULT_LIFECYCLE_CONFIG,
  replayPopulation,
  VALUE_TIERS,
  type CustomerEvent,
  type ValueModel,
} from "@clm/core";
import avro from "avsc";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { customerEventToRecord, recordToCustomerEvent } from "./customer-event-avro.ts";
import { avroTypeOptions, CUSTOMER_EVENT_SCHEMA_TEXT, customerEventType, STAGE_CHANGE_SCHEMA_TEXT, stageChangeType, VALUE_TIER_CHANGE_SCHEMA_TEXT, valueTierChangeType } from "./schemas.ts";
import { stageChangeToRecord } from "./stage-change-avro.ts";
import { valueTierChangeToRecord } from "./value-tier-change-avro.ts";

/**
 * schemas/*.avsc (wire form) and the zod schema in packages/core (JSON form) are
 * kept by hand; these tests prove they describe the same contract.
 */

const zod = createInputEventSchema({ reportingCurrency: "USD" });
const STRICT = { noUndeclaredFields: true };

interface AvroField {
  name: string;
  type: unknown;
  default?: unknown;
}
interface AvroRecord {
  name: string;
  fields: AvroField[];
}
const eventSchema = JSON.parse(CUSTOMER_EVENT_SCHEMA_TEXT) as AvroRecord;
const branches = (eventSchema.fields.find((field) => field.name === "properties")!.type as AvroRecord[]).map((branch) => branch);
const branchOf = (type: string) => branches.find((branch) => branch.name.toLowerCase() === type)!;

/** A JSON sample mapped mechanically (no validation) into the Avro record shape. */
function jsonToRecordShape(json: Record<string, unknown>): unknown {
  const type = String(json.type);
  const properties = { ...(json.properties as Record<string, unknown> | undefined) };
  if ("amount" in properties) properties.amount = Math.round(Number(properties.amount) * 10_000);
  for (const field of branchOf(type)?.fields ?? []) if (!(field.name in properties) && "default" in field) properties[field.name] = field.default;
  const branchName = `clm.v1.${type.charAt(0).toUpperCase()}${type.slice(1)}`;
  return {
    eventId: json.eventId,
    customerId: json.customerId,
    occurredAt: typeof json.occurredAt === "string" ? Date.parse(json.occurredAt) : json.occurredAt,
    receivedAt: null,
    properties: { [branchName]: properties },
  };
}

const validSamples: Record<string, unknown>[] = [
  { eventId: "p1", type: "purchase", customerId: "c1", occurredAt: "2024-05-01T12:00:00Z", properties: { orderId: "o1", amount: "19.99", currency: "USD", quantity: 2 } },
  { eventId: "p2", type: "purchase", customerId: "c1", occurredAt: "2024-05-01T12:00:00-05:00", properties: { orderId: "o2", amount: 0, currency: "USD" } },
  { eventId: "l1", type: "login", customerId: "c1", occurredAt: "2024-05-01T12:00Z", properties: { channel: "store" } },
  { eventId: "l2", type: "login", customerId: "c1", occurredAt: "2024-05-01T12:00Z" },
  { eventId: "s1", type: "support", customerId: "c1", occurredAt: "2024-05-01T12:00:00.5Z", properties: { ticketId: "t1", action: "escalated" } },
  { eventId: "s2", type: "support", customerId: "c1", occurredAt: "2024-05-01T12:00:00Z", properties: { ticketId: "t1", action: "resolved", satisfaction: 5 } },
];

/** Printable ids of 1..128 characters that are not only whitespace (a blank id is refused). */
const idArbitrary = fc.string({ minLength: 1, maxLength: 128 }).filter((id) => id.trim() !== "");

const validJsonArbitrary = fc.oneof(
  fc.record({
    eventId: idArbitrary,
    type: fc.constant("purchase"),
    customerId: idArbitrary,
    occurredAt: fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0, 1)), noInvalidDate: true }).map((date) => date.toISOString()),
    properties: fc.record(
      {
        orderId: idArbitrary,
        amount: fc.integer({ min: 0, max: 10_000_000_000 }).map((e4) => (e4 / 10_000).toFixed(4)),
        currency: fc.constant("USD"),
        quantity: fc.integer({ min: 1, max: 1000 }),
      },
      { requiredKeys: ["orderId", "amount", "currency"] },
    ),
  }),
  fc.record({
    eventId: idArbitrary,
    type: fc.constant("login"),
    customerId: idArbitrary,
    occurredAt: fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0, 1)), noInvalidDate: true }).map((date) => date.toISOString()),
    properties: fc.record({ channel: fc.constantFrom(...LOGIN_CHANNELS) }, { requiredKeys: [] }),
  }),
  fc.record({
    eventId: idArbitrary,
    type: fc.constant("support"),
    customerId: idArbitrary,
    occurredAt: fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0, 1)), noInvalidDate: true }).map((date) => date.toISOString()),
    properties: fc.record(
      { ticketId: idArbitrary, action: fc.constantFrom(...SUPPORT_ACTIONS), satisfaction: fc.integer({ min: 1, max: 5 }) },
      { requiredKeys: ["ticketId", "action"] },
    ),
  }),
);

function roundTrip(event: CustomerEvent): CustomerEvent {
  const record = customerEventToRecord(event, 123);
  expect(customerEventType.isValid(record, STRICT)).toBe(true);
  return recordToCustomerEvent(customerEventType.fromBuffer(customerEventType.toBuffer(record)));
}

describe("Avro and zod agree on the input-event contract", () => {
  it("every event zod accepts is a valid Avro record and survives the wire unchanged", () => {
    for (const sample of validSamples) {
      const parsed = parseInputEvent(zod, sample);
      expect(parsed.ok, JSON.stringify(sample)).toBe(true);
      if (parsed.ok) expect(roundTrip(parsed.event)).toEqual(parsed.event);
    }
    fc.assert(
      fc.property(validJsonArbitrary, (sample) => {
        const parsed = parseInputEvent(zod, sample);
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const back = roundTrip(parsed.event);
        expect(back).toEqual(parsed.event);
        expect(domainEventProblems(back, "USD")).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it("the same event types, fields and enum symbols on both sides", () => {
    expect(branches.map((branch) => branch.name.toLowerCase())).toEqual([...EVENT_TYPES]);
    expect(eventSchema.fields.map((field) => field.name)).toEqual(["eventId", "customerId", "occurredAt", "receivedAt", "properties"]);
    const enumSymbols = (record: AvroRecord, field: string) => {
      const type = record.fields.find((candidate) => candidate.name === field)!.type;
      const enumType = (Array.isArray(type) ? type.find((member) => typeof member === "object") : type) as { symbols: string[] };
      return enumType.symbols;
    };
    expect(enumSymbols(branchOf("login"), "channel")).toEqual([...LOGIN_CHANNELS]);
    expect(enumSymbols(branchOf("support"), "action")).toEqual([...SUPPORT_ACTIONS]);
    const stageSchema = JSON.parse(STAGE_CHANGE_SCHEMA_TEXT) as AvroRecord;
    expect(enumSymbols(stageSchema, "fromStage")).toEqual([...STAGES]);
    expect(enumSymbols(stageSchema, "riskLevel")).toEqual([...RISK_LEVELS]);
  });

  it("a field is optional in JSON exactly when it has a default in Avro", () => {
    for (const sample of validSamples) {
      const type = String(sample.type);
      const properties = (sample.properties ?? {}) as Record<string, unknown>;
      for (const field of branchOf(type).fields) {
        if (!(field.name in properties)) continue;
        const { [field.name]: _removed, ...rest } = properties;
        const accepted = parseInputEvent(zod, { ...sample, properties: rest }).ok;
        expect(accepted, `${type}.${field.name}`).toBe("default" in field);
      }
      for (const field of ["eventId", "customerId", "occurredAt"]) {
        const { [field]: _removed, ...rest } = sample;
        expect(parseInputEvent(zod, rest).ok, field).toBe(false);
        expect(eventSchema.fields.find((candidate) => candidate.name === field)).not.toHaveProperty("default");
      }
    }
  });

  it("structurally wrong events are rejected by both", () => {
    const base = validSamples[5]!;
    const wrong: Record<string, unknown>[] = [
      { ...base, properties: { ticketId: "t", action: "closed" } },
      { ...base, customerId: 42 },
      { ...base, eventId: null },
      { ...base, properties: { ticketId: "t", action: "opened", satisfaction: "5" } },
      { ...validSamples[2]!, properties: { channel: "fax" } },
      { ...validSamples[0]!, properties: { amount: "1.00", currency: "USD" } },
      { ...validSamples[0]!, type: "refund" },
    ];
    for (const sample of wrong) {
      expect(parseInputEvent(zod, sample).ok, JSON.stringify(sample)).toBe(false);
      expect(customerEventType.isValid(jsonToRecordShape(sample), STRICT), JSON.stringify(sample)).toBe(false);
    }
  });

  it("value rules Avro cannot express are caught after decoding too", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...validSamples[0]!, properties: { orderId: "o", amount: "-5.00", currency: "USD" } }, "properties.amount"],
      [{ ...validSamples[0]!, properties: { orderId: "o", amount: "5.00", currency: "EUR" } }, "properties.currency"],
      [{ ...validSamples[0]!, properties: { orderId: "o", amount: "5.00", currency: "USD", quantity: 0 } }, "properties.quantity"],
      [{ ...validSamples[5]!, properties: { ticketId: "t", action: "opened", satisfaction: 9 } }, "properties.satisfaction"],
      [{ ...validSamples[2]!, eventId: "" }, "eventId"],
      [{ ...validSamples[2]!, customerId: "x".repeat(129) }, "customerId"],
    ];
    for (const [sample, path] of cases) {
      const zodResult = parseInputEvent(zod, sample);
      expect(zodResult.ok ? [] : zodResult.errors.map((error) => error.path), path).toEqual([path]);
      const record = jsonToRecordShape(sample);
      expect(customerEventType.isValid(record, STRICT), path).toBe(true); // Avro alone lets it through …
      const decoded = recordToCustomerEvent(customerEventType.fromBuffer(customerEventType.toBuffer(record)) as never);
      expect(domainEventProblems(decoded, "USD").map((problem) => problem.path)).toEqual([path]); // … the domain check does not.
    }
  });
});

describe("stage-change wire form", () => {
  it("every transition the core emits encodes and decodes unchanged", () => {
    let state;
    const transitions = [];
    for (const [index, day] of [0, 20, 40, 200].entries()) {
      const step = applyEvent(
        state,
        { eventId: `e${index}`, customerId: "c", occurredAt: Date.UTC(2024, 0, 1) + day * 86_400_000, type: "purchase", properties: { orderId: `o${index}`, amountE4: 123_456, currency: "USD", quantity: null } },
        DEFAULT_LIFECYCLE_CONFIG,
      );
      state = step.state;
      for (const effect of step.effects) if (effect.kind === "stage_changed") transitions.push(effect.transition);
    }
    expect(transitions.map((transition) => transition.to)).toEqual(["new", "active", "at_risk", "churned", "won_back"]);
    for (const transition of transitions) {
      const record = stageChangeToRecord(transition, { recency: 5, frequency: 2, monetary: 3, cell: "523", segment: "Potential loyalist" });
      expect(stageChangeType.isValid(record, STRICT)).toBe(true);
      expect(stageChangeType.fromBuffer(stageChangeType.toBuffer(record))).toEqual(record);
      expect(stageChangeType.isValid(stageChangeToRecord(transition), STRICT)).toBe(true);
    }
  });
});

const VALUE_MODEL: ValueModel = {
  version: "m-1997-09-30-0123abcd",
  calibrationEnd: "1997-09-30",
  unit: "week",
  fittedAt: "2026-11-30T00:00:00.000Z",
  bgnbd: { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259, logLikelihood: -9582.43, customers: 2357 },
  gammaGamma: { p: 6.25, q: 3.74, v: 15.44, logLikelihood: -4055.92, customers: 946 },
  tierCuts: { highValueClv: 40, potentialClv: 12, warningMonetary: 25 },
};

/** A customer who buys three times and then stops, under a value model, to 1999: every kind of change. */
function valuedEffects() {
  const events = [0, 15, 30].map((day, index) => ({
    eventId: `v${index}`,
    customerId: "c",
    occurredAt: Date.UTC(2024, 0, 1) + day * 86_400_000,
    type: "purchase" as const,
    properties: { orderId: `o${index}`, amountE4: 250_000, currency: "USD", quantity: null },
  }));
  return replayPopulation(events, DEFAULT_LIFECYCLE_CONFIG, Date.UTC(2026, 0, 1), { model: VALUE_MODEL, activatedAt: 0 });
}

describe("value-tier-change wire form", () => {
  it("every tier change the core emits encodes and decodes unchanged", () => {
    const { tierChanges } = valuedEffects();
    expect(new Set(tierChanges.map((change) => change.trigger))).toEqual(new Set(["event", "timer"]));
    expect(tierChanges.map((change) => change.to)).toContain("warning");
    for (const change of tierChanges) {
      const record = valueTierChangeToRecord(change);
      expect(valueTierChangeType.isValid(record, STRICT)).toBe(true);
      expect(valueTierChangeType.fromBuffer(valueTierChangeType.toBuffer(record))).toEqual(record);
    }
  });

  it("the tiers and triggers are the core's, symbol for symbol", () => {
    const schema = JSON.parse(VALUE_TIER_CHANGE_SCHEMA_TEXT) as AvroRecord;
    const enumOf = (name: string) => {
      const field = schema.fields.find((candidate) => candidate.name === name)!;
      const type = (Array.isArray(field.type) ? field.type.find((branch) => typeof branch === "object") : field.type) as { symbols: string[] };
      return type.symbols;
    };
    expect(enumOf("fromTier")).toEqual([...VALUE_TIERS]);
    expect(enumOf("trigger")).toEqual(["event", "timer", "refit"]);
  });
});

describe("stage-change schema evolution", () => {
  /** The stage-change schema as it was before the value snapshot (the field removed). */
  const before = (() => {
    const schema = JSON.parse(STAGE_CHANGE_SCHEMA_TEXT) as { fields: { name: string; type: { fields?: { name: string }[] } }[] };
    const snapshot = schema.fields.find((field) => field.name === "snapshot")!.type;
    snapshot.fields = snapshot.fields!.filter((field) => field.name !== "value");
    return avro.Type.forSchema(schema as avro.Schema, avroTypeOptions());
  })();

  it("is BACKWARD compatible: the new schema reads what a writer of the old one wrote (value null)", () => {
    const transition = valuedEffects().transitions[0]!;
    const old = stageChangeToRecord({ ...transition, snapshot: { ...transition.snapshot, value: null } });
    delete (old.snapshot as { value?: unknown }).value;
    const read = stageChangeType.createResolver(before);
    expect(stageChangeType.fromBuffer(before.toBuffer(old), read)).toEqual({ ...old, snapshot: { ...old.snapshot, value: null } });
  });

  it("old readers keep working: the old schema reads what the new one writes, without the value", () => {
    const transition = valuedEffects().transitions.find((candidate) => candidate.snapshot.value !== null)!;
    const record = stageChangeToRecord(transition);
    expect(record.snapshot.value?.modelVersion).toBe(VALUE_MODEL.version);
    const read = before.createResolver(stageChangeType);
    const { value: _value, ...oldSnapshot } = record.snapshot;
    expect(before.fromBuffer(stageChangeType.toBuffer(record), read)).toEqual({ ...record, snapshot: oldSnapshot });
  });
});
