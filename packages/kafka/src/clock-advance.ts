import type { IHeaders, Message } from "kafkajs";

/**
 * A clock advance is a control record on the input topic: the partition's event time has
 * reached an instant (epoch ms in this header), so the processor in event clock mode fires every
 * deadline up to it. Its value is null and it has no key, so Confluent/Avro consumers of the topic
 * see a record without a value (a deserializer returns null) and never an event; one goes to
 * every partition, in order with that partition's events, so a rebuild reproduces it.
 */
export const CLOCK_ADVANCE_HEADER = "clm-clock-advance-to";

/** Latest instant the event contract allows (9999-12-31T23:59:59.999Z). */
const MAX_INSTANT = 253_402_300_799_999;

export function clockAdvanceMessage(to: number, partition: number): Message {
  return { partition, key: null, value: null, headers: { [CLOCK_ADVANCE_HEADER]: String(to) } };
}

export type ClockAdvanceHeader = { kind: "none" } | { kind: "advance"; to: number } | { kind: "invalid"; reason: string };

/** Whether a consumed record is a clock advance (before any decoding), and a malformed one's reason. */
export function readClockAdvance(message: { headers?: IHeaders; value: Buffer | null }): ClockAdvanceHeader {
  const header = message.headers?.[CLOCK_ADVANCE_HEADER];
  if (header === undefined) return { kind: "none" };
  if (Array.isArray(header)) return { kind: "invalid", reason: `${CLOCK_ADVANCE_HEADER} appears more than once` };
  const text = header.toString();
  if (!/^\d{1,15}$/.test(text) || Number(text) > MAX_INSTANT) return { kind: "invalid", reason: `${CLOCK_ADVANCE_HEADER} ${JSON.stringify(text.slice(0, 40))} is not an epoch-millisecond instant` };
  if (message.value !== null) return { kind: "invalid", reason: "a clock advance carries no value" };
  return { kind: "advance", to: Number(text) };
}
