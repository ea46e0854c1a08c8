import type { CustomerEvent } from "@clm/core";

/** The Avro record form of an input event (what avsc encodes and decodes). */
export interface CustomerEventRecord {
  eventId: string;
  customerId: string;
  occurredAt: number;
  receivedAt: number | null;
  properties:
    | { "clm.v1.Purchase": { orderId: string; amount: number; currency: string; quantity: number | null } }
    | { "clm.v1.Login": { channel: "web" | "app" | "store" | "other" | null } }
    | { "clm.v1.Support": { ticketId: string; action: "opened" | "resolved" | "escalated"; satisfaction: number | null } };
}

export function customerEventToRecord(event: CustomerEvent, receivedAt: number | null = null): CustomerEventRecord {
  const base = { eventId: event.eventId, customerId: event.customerId, occurredAt: event.occurredAt, receivedAt };
  switch (event.type) {
    case "purchase": {
      const { orderId, amountE4, currency, quantity } = event.properties;
      return { ...base, properties: { "clm.v1.Purchase": { orderId, amount: amountE4, currency, quantity } } };
    }
    case "login":
      return { ...base, properties: { "clm.v1.Login": { channel: event.properties.channel } } };
    case "support": {
      const { ticketId, action, satisfaction } = event.properties;
      return { ...base, properties: { "clm.v1.Support": { ticketId, action, satisfaction } } };
    }
  }
}

/** Decoded record → domain event. Structure is guaranteed by Avro; value ranges are checked by checkDomainEvent. */
export function recordToCustomerEvent(record: CustomerEventRecord): CustomerEvent {
  const base = { eventId: record.eventId, customerId: record.customerId, occurredAt: record.occurredAt };
  const properties = record.properties;
  if ("clm.v1.Purchase" in properties) {
    const { orderId, amount, currency, quantity } = properties["clm.v1.Purchase"];
    return { ...base, type: "purchase", properties: { orderId, amountE4: amount, currency, quantity } };
  }
  if ("clm.v1.Login" in properties) return { ...base, type: "login", properties: { channel: properties["clm.v1.Login"].channel } };
  const { ticketId, action, satisfaction } = properties["clm.v1.Support"];
  return { ...base, type: "support", properties: { ticketId, action, satisfaction } };
}
