import {
  audienceChangeToRecord,
  customerEventToRecord,
  riskChangeToRecord,
  stageChangeToRecord,
  valueTierChangeToRecord,
  type AudienceChangeRecord,
  type CustomerEventRecord,
  type RiskChangeRecord,
  type StageChangeRecord,
  type ValueTierChangeRecord,
} from "@clm/contracts";
import { audienceChangeRow, eventRow, riskChangeRow, serializeRow, snapshotRow, transitionRow, valueTierChangeRow } from "@clm/clickhouse";
import { DEFAULT_LIFECYCLE_CONFIG, replayPopulation, type ActiveAudiences, type ActiveValueModel, type CustomerEvent, type ValueModel } from "@clm/core";

/**
 * What the pure core makes of a purchase log, as the sink's records and rows: the events, and the
 * stage changes (with snapshots), value-tier, risk and audience changes a replay emits under a value
 * model and two audiences active from the start, with the timers run to `until`. The records are
 * what the processor publishes; the rows are what the sink writes for them (packages/clickhouse rows).
 */
export interface CoreRecords {
  events: CustomerEventRecord[];
  stageChanges: StageChangeRecord[];
  tierChanges: ValueTierChangeRecord[];
  riskChanges: RiskChangeRecord[];
  audienceChanges: AudienceChangeRecord[];
}

/** The sink's tables and their JSONEachRow lines. */
export type TableLines = Record<"events" | "stage_transitions" | "customer_snapshots" | "value_tier_changes" | "risk_changes" | "audience_changes", string[]>;

/** The published BG/NBD and Gamma-Gamma figures of the CDNOW cohort (Fader, Hardie & Lee 2005), tier cuts that give every tier. */
const VALUE_MODEL: ValueModel = {
  version: "m-1997-09-30-5ca1ab1e",
  calibrationEnd: "1997-09-30",
  unit: "week",
  fittedAt: "2026-12-01T00:00:00.000Z",
  bgnbd: { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259, logLikelihood: -9582.43, customers: 2357 },
  gammaGamma: { p: 6.25, q: 3.74, v: 15.44, logLikelihood: -4055.92, customers: 946 },
  tierCuts: { highValueClv: 40, potentialClv: 12, warningMonetary: 25 },
};

export function coreRecords(events: readonly CustomerEvent[], until: number): CoreRecords {
  const start = events[0]!.occurredAt;
  const value: ActiveValueModel = { model: VALUE_MODEL, activatedAt: start };
  const audiences: ActiveAudiences = {
    activatedAt: start,
    definitions: {
      version: "d1",
      rfm: null,
      audiences: [
        { id: "valuable-active", version: 1, name: "valuable and active", filter: { stages: ["active", "loyal"], valueTiers: ["high_value", "potential"] } },
        { id: "lapsing", version: 1, name: "lapsing", filter: { riskLevels: ["medium", "high"] } },
      ],
    },
  };
  const replay = replayPopulation(events, DEFAULT_LIFECYCLE_CONFIG, until, value, audiences);
  return {
    events: events.map((event) => customerEventToRecord(event, 0)),
    stageChanges: replay.transitions.map((transition) => stageChangeToRecord(transition)),
    tierChanges: replay.tierChanges.map(valueTierChangeToRecord),
    riskChanges: replay.riskChanges.map(riskChangeToRecord),
    audienceChanges: replay.audienceChanges.map(audienceChangeToRecord),
  };
}

/** The rows the sink writes for these records (Kafka positions made up: no view reads them). */
export function sinkLines(records: CoreRecords, writtenAt: number): TableLines {
  const at = (index: number) => ({ partition: 0, offset: String(index) });
  return {
    events: records.events.map((record, index) => serializeRow(eventRow(record, at(index), writtenAt))),
    stage_transitions: records.stageChanges.map((record, index) => serializeRow(transitionRow(record, at(index), writtenAt))),
    customer_snapshots: records.stageChanges.map((record) => serializeRow(snapshotRow(record, writtenAt))),
    value_tier_changes: records.tierChanges.map((record, index) => serializeRow(valueTierChangeRow(record, at(index), writtenAt))),
    risk_changes: records.riskChanges.map((record, index) => serializeRow(riskChangeRow(record, at(index), writtenAt))),
    audience_changes: records.audienceChanges.map((record, index) => serializeRow(audienceChangeRow(record, at(index), writtenAt))),
  };
}
