import { createInputEventSchema, parseInputEvent, type CustomerEvent } from "@clm/core";
import { CDNOW_MASTER_PATH, CDNOW_SAMPLE_PATH, readCdnowFile } from "@clm/datasets";

/** The real CDNOW purchases as validated domain events, in time order (stable for equal times). */
export async function cdnowEvents(which: "sample" | "master" = "sample"): Promise<CustomerEvent[]> {
  const { events: rows } = await readCdnowFile(which === "sample" ? CDNOW_SAMPLE_PATH : CDNOW_MASTER_PATH);
  const schema = createInputEventSchema({ reportingCurrency: "USD" });
  const events = rows.map((row) => {
    const parsed = parseInputEvent(schema, row);
    if (!parsed.ok) throw new Error(`CDNOW row ${row.eventId} rejected: ${JSON.stringify(parsed.errors)}`);
    return parsed.event;
  });
  return events.sort((left, right) => left.occurredAt - right.occurredAt);
}
