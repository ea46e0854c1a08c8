import { formatE4, type CustomerEvent } from "@clm/core";

/** An input event in its JSON (ingest) form, before validation. */
export interface InputEventJson {
  eventId: string;
  type: "purchase" | "login" | "support";
  customerId: string;
  occurredAt: string;
  properties: Record<string, unknown>;
}

/** A domain event in the JSON form the ingest API takes (the inverse of parseInputEvent). */
export function toInputEventJson(event: CustomerEvent): InputEventJson {
  const base = { eventId: event.eventId, customerId: event.customerId, occurredAt: new Date(event.occurredAt).toISOString() };
  if (event.type === "purchase") {
    const { orderId, amountE4, currency, quantity } = event.properties;
    return { ...base, type: "purchase", properties: { orderId, amount: formatE4(amountE4), currency, ...(quantity === null ? {} : { quantity }) } };
  }
  if (event.type === "login") return { ...base, type: "login", properties: event.properties.channel === null ? {} : { channel: event.properties.channel } };
  const { ticketId, action, satisfaction } = event.properties;
  return { ...base, type: "support", properties: { ticketId, action, ...(satisfaction === null ? {} : { satisfaction }) } };
}
