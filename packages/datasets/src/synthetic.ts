import type { CustomerEvent } from "@clm/core";

/**
 * A deterministic synthetic population for benchmarks and load tests: customers
 * acquired in waves, each with their own purchase cadence, logins between
 * purchases, occasional support tickets, some who stop coming (churners) and some
 * of those who return (won back). Same seed, same events.
 */
export interface SyntheticOptions {
  seed: number;
  events: number;
  /** Mean events per customer (sets the number of customers). */
  eventsPerCustomer?: number;
  start?: number;
  /** Length of the simulated period, days. */
  days?: number;
}

/** mulberry32: a small, fast, well-distributed 32-bit PRNG. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const DAY = 86_400_000;

export function syntheticEvents(options: SyntheticOptions): CustomerEvent[] {
  const random = prng(options.seed);
  const start = options.start ?? Date.UTC(2024, 0, 1);
  const days = options.days ?? 730;
  const customers = Math.max(1, Math.round(options.events / (options.eventsPerCustomer ?? 10)));
  const exponential = (mean: number) => -Math.log(1 - random()) * mean;
  const events: CustomerEvent[] = [];
  for (let index = 0; index < customers && events.length < options.events; index++) {
    const customerId = `syn-${options.seed}-${index}`;
    // Acquisition waves: three campaigns plus a steady trickle.
    const wave = random();
    const acquiredDay = wave < 0.6 ? Math.floor(random() * 3) * 90 + exponential(10) : random() * days;
    let at = start + Math.floor(Math.min(days - 1, acquiredDay) * DAY + random() * DAY);
    const meanGapDays = 7 + random() * 90;
    const churnsAfter = random() < 0.4 ? 1 + Math.floor(exponential(4)) : Number.POSITIVE_INFINITY;
    const returns = random() < 0.3;
    let purchases = 0;
    let sequence = 0;
    const push = (event: Omit<CustomerEvent, "eventId" | "customerId">) => events.push({ ...event, eventId: `${customerId}-${sequence++}`, customerId } as CustomerEvent);
    push({ type: "login", occurredAt: at, properties: { channel: "web" } });
    while (at < start + days * DAY && events.length < options.events) {
      push({ type: "purchase", occurredAt: at, properties: { orderId: `${customerId}-o${purchases}`, amountE4: Math.round(exponential(40) * 100) * 100, currency: "USD", quantity: 1 + Math.floor(random() * 3) } });
      purchases++;
      const logins = Math.floor(random() * 4);
      for (let login = 0; login < logins; login++) push({ type: "login", occurredAt: at + Math.floor(random() * meanGapDays * DAY), properties: { channel: random() < 0.7 ? "app" : "web" } });
      if (random() < 0.08) {
        const opened = at + Math.floor(random() * 5 * DAY);
        push({ type: "support", occurredAt: opened, properties: { ticketId: `${customerId}-t${purchases}`, action: "opened", satisfaction: null } });
        push({ type: "support", occurredAt: opened + Math.floor(random() * 3 * DAY), properties: { ticketId: `${customerId}-t${purchases}`, action: "resolved", satisfaction: 1 + Math.floor(random() * 5) } });
      }
      let gap = exponential(meanGapDays) * DAY;
      if (purchases === churnsAfter) {
        if (!returns) break;
        gap += (200 + random() * 200) * DAY; // gone long enough to churn, then back
      }
      at += Math.max(DAY / 24, Math.floor(gap));
    }
  }
  events.length = Math.min(events.length, options.events);
  return events.sort((left, right) => left.occurredAt - right.occurredAt);
}
