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

/**
 * Decoded record → domain event. Structure is guaranteed by Avro; value ranges are checked by
 * domainEventProblems. Written as whole literals (no spreads): it runs once per consumed record.
 */
export function recordToCustomerEvent(record: CustomerEventRecord): CustomerEvent {
  const properties = record.properties;
  const purchase = (properties as { "clm.v1.Purchase"?: { orderId: string; amount: number; currency: string; quantity: number | null } })["clm.v1.Purchase"];
  if (purchase !== undefined) {
    return {
      eventId: record.eventId,
      customerId: record.customerId,
      occurredAt: record.occurredAt,
      type: "purchase",
      properties: { orderId: purchase.orderId, amountE4: purchase.amount, currency: purchase.currency, quantity: purchase.quantity },
    };
  }
  const login = (properties as { "clm.v1.Login"?: { channel: "web" | "app" | "store" | "other" | null } })["clm.v1.Login"];
  if (login !== undefined) {
    return { eventId: record.eventId, customerId: record.customerId, occurredAt: record.occurredAt, type: "login", properties: { channel: login.channel } };
  }
  const support = (properties as { "clm.v1.Support": { ticketId: string; action: "opened" | "resolved" | "escalated"; satisfaction: number | null } })["clm.v1.Support"];
  return {
    eventId: record.eventId,
    customerId: record.customerId,
    occurredAt: record.occurredAt,
    type: "support",
    properties: { ticketId: support.ticketId, action: support.action, satisfaction: support.satisfaction },
  };
}
