import { futureEventProblem, parseInputEvent, type CustomerEvent, type FieldError, type InputEventSchema } from "@clm/core";
import type { IncomingMessage } from "node:http";
import { bodyFormat, parseItems, readBody } from "./body.ts";
import { IngestError } from "./errors.ts";
import type { IngestMetrics } from "./metrics.ts";
import type { EventPublisher } from "./publisher.ts";

export interface Rejection {
  index: number;
  eventId?: string;
  errors: FieldError[];
}

export interface IngestAnswer {
  accepted: number;
  rejected: Rejection[];
}

/**
 * POST /v1/events: validate every item, publish the valid ones, answer 202 with
 * what was accepted and why each other item was rejected. Invalid items never
 * block valid ones; the answer comes only after Kafka acknowledged. An item dated
 * more than `maxFutureSkewMs` after the request arrived is rejected (FUTURE_EVENT).
 */
export async function handleIngest(
  request: IncomingMessage,
  deps: { schema: InputEventSchema; publisher: EventPublisher; metrics: IngestMetrics; maxBytes: number; maxEvents: number; maxFutureSkewMs: number; now: () => number },
): Promise<IngestAnswer> {
  const format = bodyFormat(request.headers["content-type"]);
  const body = await readBody(request, deps.maxBytes);
  const { items, lineErrors } = parseItems(body, format);
  if (items.length > deps.maxEvents) throw new IngestError("BATCH_TOO_LARGE", `${items.length} > ${deps.maxEvents} events`);

  const receivedAt = deps.now();
  const valid: CustomerEvent[] = [];
  const rejected: Rejection[] = [];
  items.forEach((item, index) => {
    const lineError = lineErrors.get(index);
    if (lineError !== undefined) {
      rejected.push({ index, errors: [{ path: "(line)", message: lineError }] });
      return;
    }
    const parsed = parseInputEvent(deps.schema, item);
    if (parsed.ok) {
      const future = futureEventProblem(parsed.event.occurredAt, receivedAt, deps.maxFutureSkewMs);
      if (future === null) valid.push(parsed.event);
      else rejected.push({ index, eventId: parsed.event.eventId, errors: [future] });
      return;
    }
    const eventId = typeof item === "object" && item !== null && typeof (item as { eventId?: unknown }).eventId === "string" ? (item as { eventId: string }).eventId : undefined;
    rejected.push({ index, ...(eventId !== undefined && eventId.length <= 128 ? { eventId } : {}), errors: parsed.errors });
  });

  const started = performance.now();
  await deps.publisher.publish(valid, receivedAt);
  deps.metrics.publishSeconds.observe((performance.now() - started) / 1000);
  deps.metrics.accepted.inc(valid.length);
  for (const rejection of rejected) deps.metrics.rejected.inc({ field: rejection.errors[0]?.path.split(".")[0] ?? "(event)" });
  return { accepted: valid.length, rejected };
}
