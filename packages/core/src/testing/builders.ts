import type { CustomerEvent } from "../contract.ts";
import { DAY_MS } from "../time.ts";

/** Test helpers: compact event builders on a day scale. Not exported from the package. */
export const T0 = Date.UTC(2024, 0, 1);
export const day = (n: number) => T0 + n * DAY_MS;

let counter = 0;
const nextId = () => `e${++counter}`;

export function purchase(at: number, amount = 10, options: { customerId?: string; eventId?: string } = {}): CustomerEvent {
  return {
    eventId: options.eventId ?? nextId(),
    customerId: options.customerId ?? "c1",
    occurredAt: at,
    type: "purchase",
    properties: { orderId: `o-${counter}`, amountE4: Math.round(amount * 10_000), currency: "USD", quantity: null },
  };
}

export function login(at: number, options: { customerId?: string; eventId?: string } = {}): CustomerEvent {
  return { eventId: options.eventId ?? nextId(), customerId: options.customerId ?? "c1", occurredAt: at, type: "login", properties: { channel: "web" } };
}

export function support(
  at: number,
  action: "opened" | "resolved" | "escalated",
  satisfaction: number | null = null,
  options: { customerId?: string; eventId?: string } = {},
): CustomerEvent {
  return {
    eventId: options.eventId ?? nextId(),
    customerId: options.customerId ?? "c1",
    occurredAt: at,
    type: "support",
    properties: { ticketId: `t-${counter}`, action, satisfaction },
  };
}
