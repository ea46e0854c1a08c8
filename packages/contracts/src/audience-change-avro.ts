import type { AudienceChange, AudienceTrigger } from "@clm/core";

/** The Avro record form of an audience change (schemas/audience-change.avsc). */
export interface AudienceChangeRecord {
  changeId: string;
  customerId: string;
  version: number;
  audienceId: string;
  audienceVersion: number | null;
  definitionsVersion: string;
  change: "entered" | "left";
  occurredAt: number;
  trigger: AudienceTrigger;
  eventId: string | null;
}

export function audienceChangeToRecord(change: AudienceChange): AudienceChangeRecord {
  return {
    changeId: change.changeId,
    customerId: change.customerId,
    version: change.version,
    audienceId: change.audienceId,
    audienceVersion: change.audienceVersion,
    definitionsVersion: change.definitionsVersion,
    change: change.change,
    occurredAt: change.occurredAt,
    trigger: change.trigger,
    eventId: change.eventId,
  };
}
