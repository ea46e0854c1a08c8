import type { IncomingMessage } from "node:http";
import { parseIsoInstant } from "@clm/core";
import { bodyFormat, readBody } from "./body.ts";
import { IngestError } from "./errors.ts";
import type { EventPublisher } from "./publisher.ts";

export interface ClockAdvanceAnswer {
  to: string;
  /** Partitions of the input topic that received the advance. */
  partitions: number;
}

/**
 * POST /v1/clock/advance {"to": ISO}: the event-time clock of a replay moves to `to` on every
 * partition, through one control record per partition (packages/kafka clock-advance.ts), ordered
 * with each partition's events. The answer comes after Kafka acknowledged all of them; the
 * processor applies them as it reaches them. An advance says event time has passed `to`: an
 * instant later than now has not passed, so it is refused.
 */
export async function handleClockAdvance(
  request: IncomingMessage,
  deps: { clockMode: "wall" | "event"; publisher: EventPublisher; maxBytes: number; now: () => number },
): Promise<ClockAdvanceAnswer> {
  if (deps.clockMode !== "event") throw new IngestError("CLOCK_NOT_EVENT_TIME");
  if (bodyFormat(request.headers["content-type"]) !== "json") throw new IngestError("UNSUPPORTED_MEDIA_TYPE", "send application/json");
  const body = await readBody(request, deps.maxBytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new IngestError("INVALID_BODY", (error as Error).message);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new IngestError("INVALID_BODY", 'expected a JSON object {"to": …}');
  const to = parseIsoInstant((parsed as { to?: unknown }).to, "to");
  if (!to.ok) throw new IngestError("INVALID_CLOCK_ADVANCE", to.message);
  const now = deps.now();
  if (to.at > now) throw new IngestError("INVALID_CLOCK_ADVANCE", `to ${new Date(to.at).toISOString()} is later than now (${new Date(now).toISOString()})`);
  const partitions = await deps.publisher.advanceClock(to.at);
  return { to: new Date(to.at).toISOString(), partitions };
}
