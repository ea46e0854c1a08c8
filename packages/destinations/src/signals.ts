import {
  AUDIENCE_CHANGE_SCHEMA_TEXT,
  RISK_CHANGE_SCHEMA_TEXT,
  STAGE_CHANGE_SCHEMA_TEXT,
  VALUE_TIER_CHANGE_SCHEMA_TEXT,
  type AudienceChangeRecord,
  type RiskChangeRecord,
  type StageChangeRecord,
  type ValueTierChangeRecord,
} from "@clm/contracts";

/**
 * The signals marketing systems receive, one entry per Kafka topic: which record the topic carries,
 * which webhook types its records become, and the one function that turns a record into the JSON
 * payload (docs/marketing/webhook-payload.schema.json). A new kind of signal is one more entry here
 * (its topic setting, its Avro schema text, its mapping); the consumer, the destinations' validation,
 * the CLI and the docs' type list read this table.
 */

/** A signal ready to deliver: the webhook's id, type and JSON `data`, and the customer it orders by. */
export interface Signal {
  /** The signal's deterministic id (transitionId, changeId): the webhook-id, the receiver's dedupe key. */
  id: string;
  type: string;
  customerId: string;
  /** Event time of the change (ISO 8601 in the payload's `timestamp`). */
  occurredAt: number;
  /** Set on audience signals: destinations that name audiences receive only theirs. */
  audienceId?: string;
  data: Record<string, unknown>;
}

/** The settings that name the signal topics (a structural slice of @clm/config's Config). */
export interface SignalTopicSettings {
  TOPIC_STAGE_CHANGES: string;
  TOPIC_VALUE_TIER_CHANGES: string;
  TOPIC_RISK_CHANGES: string;
  TOPIC_AUDIENCE_CHANGES: string;
}

export interface SignalKind<R = unknown> {
  /** The Avro record's full name (namespace.name), which tells a Kafka consumer the kind. */
  recordName: string;
  topic: (config: SignalTopicSettings) => string;
  schemaText: string;
  /** The webhook types this topic's records become. */
  types: readonly string[];
  toSignal: (record: R) => Signal;
}

const iso = (epochMs: number | null | undefined) => (epochMs === null || epochMs === undefined ? null : new Date(epochMs).toISOString());
/** Decimal(18,4) travels as E4 integer units; the payload carries the exact decimal string. */
const decimalE4 = (units: number) => {
  const sign = units < 0 ? "-" : "";
  const abs = Math.abs(units);
  return `${sign}${Math.trunc(abs / 10_000)}.${String(abs % 10_000).padStart(4, "0")}`;
};

export function stageChangeSignal(record: StageChangeRecord): Signal {
  const { snapshot } = record;
  return {
    id: record.transitionId,
    type: "stage.changed",
    customerId: record.customerId,
    occurredAt: record.occurredAt,
    data: {
      customerId: record.customerId,
      version: record.version,
      fromStage: record.fromStage,
      toStage: record.toStage,
      reasonCode: record.reasonCode,
      reasonNumbers: record.reasonNumbers,
      occurredAt: iso(record.occurredAt),
      trigger: record.trigger,
      eventId: record.eventId,
      riskLevel: record.riskLevel,
      snapshot: {
        purchaseCount: snapshot.purchaseCount,
        purchaseDays: snapshot.purchaseDays,
        monetaryTotal: decimalE4(snapshot.monetaryTotal),
        firstPurchaseAt: iso(snapshot.firstPurchaseAt),
        lastPurchaseAt: iso(snapshot.lastPurchaseAt),
        interactionScore: snapshot.interactionScore,
        tenureDays: snapshot.tenureDays,
        rfm: snapshot.rfm,
        value: snapshot.value ?? null,
      },
    },
  };
}

export function valueTierChangeSignal(record: ValueTierChangeRecord): Signal {
  return {
    id: record.changeId,
    type: "tier.changed",
    customerId: record.customerId,
    occurredAt: record.occurredAt,
    data: {
      customerId: record.customerId,
      version: record.version,
      fromTier: record.fromTier,
      toTier: record.toTier,
      reasonCode: record.reasonCode,
      reasonNumbers: record.reasonNumbers,
      occurredAt: iso(record.occurredAt),
      trigger: record.trigger,
      eventId: record.eventId,
      modelVersion: record.modelVersion,
      pAlive: record.pAlive,
      expectedPurchases: record.expectedPurchases,
      expectedSpend: record.expectedSpend,
      predictedClv: record.predictedClv,
      monetaryTotal: decimalE4(record.monetaryTotal),
    },
  };
}

export function riskChangeSignal(record: RiskChangeRecord): Signal {
  return {
    id: record.changeId,
    type: "risk.changed",
    customerId: record.customerId,
    occurredAt: record.occurredAt,
    data: {
      customerId: record.customerId,
      version: record.version,
      fromLevel: record.fromLevel,
      toLevel: record.toLevel,
      stage: record.stage,
      reasonCode: record.reasonCode,
      reasonNumbers: record.reasonNumbers,
      occurredAt: iso(record.occurredAt),
      trigger: record.trigger,
      eventId: record.eventId,
      lastPurchaseAt: iso(record.lastPurchaseAt),
    },
  };
}

/** `audience.entered` or `audience.left`; destinations that name audiences receive only theirs. */
export function audienceChangeSignal(record: AudienceChangeRecord): Signal {
  return {
    id: record.changeId,
    type: `audience.${record.change}`,
    customerId: record.customerId,
    occurredAt: record.occurredAt,
    audienceId: record.audienceId,
    data: {
      customerId: record.customerId,
      version: record.version,
      audienceId: record.audienceId,
      audienceVersion: record.audienceVersion,
      definitionsVersion: record.definitionsVersion,
      occurredAt: iso(record.occurredAt),
      trigger: record.trigger,
      eventId: record.eventId,
    },
  };
}

/** Every signal kind the delivery service consumes, by topic. */
export const SIGNAL_KINDS = [
  {
    recordName: "clm.v1.StageChange",
    topic: (config) => config.TOPIC_STAGE_CHANGES,
    schemaText: STAGE_CHANGE_SCHEMA_TEXT,
    types: ["stage.changed"],
    toSignal: stageChangeSignal,
  } satisfies SignalKind<StageChangeRecord>,
  {
    recordName: "clm.v1.ValueTierChange",
    topic: (config) => config.TOPIC_VALUE_TIER_CHANGES,
    schemaText: VALUE_TIER_CHANGE_SCHEMA_TEXT,
    types: ["tier.changed"],
    toSignal: valueTierChangeSignal,
  } satisfies SignalKind<ValueTierChangeRecord>,
  {
    recordName: "clm.v1.RiskChange",
    topic: (config) => config.TOPIC_RISK_CHANGES,
    schemaText: RISK_CHANGE_SCHEMA_TEXT,
    types: ["risk.changed"],
    toSignal: riskChangeSignal,
  } satisfies SignalKind<RiskChangeRecord>,
  {
    recordName: "clm.v1.AudienceChange",
    topic: (config) => config.TOPIC_AUDIENCE_CHANGES,
    schemaText: AUDIENCE_CHANGE_SCHEMA_TEXT,
    types: ["audience.entered", "audience.left"],
    toSignal: audienceChangeSignal,
  } satisfies SignalKind<AudienceChangeRecord>,
] as const satisfies readonly SignalKind<never>[];

/** The webhook types a destination may subscribe to. */
export const SIGNAL_TYPES: readonly string[] = SIGNAL_KINDS.flatMap((kind) => kind.types);

/**
 * The JSON body of one signal: `{ id, type, timestamp, data }`. Serialised once per signal and
 * stored as text, so the bytes signed are the bytes sent, on every try.
 */
export function signalBody(signal: Signal): string {
  return JSON.stringify({ id: signal.id, type: signal.type, timestamp: new Date(signal.occurredAt).toISOString(), data: signal.data });
}
