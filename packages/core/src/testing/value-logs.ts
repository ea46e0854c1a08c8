import fc from "fast-check";
import type { CustomerEvent } from "../contract.ts";
import type { BatchRecord } from "../partition-fold.ts";
import { DAY_MS } from "../time.ts";
import type { ValueModel } from "../value/types.ts";
import { T0 } from "./builders.ts";

/** Test helpers shared by the value-tier and audience property tests. Not exported from the package. */

/** The published CDNOW parameters, with tier cuts that split small logs into every tier. */
export const PUBLISHED_CDNOW_MODEL: ValueModel = {
  version: "m-1997-09-30-0123abcd",
  calibrationEnd: "1997-09-30",
  unit: "week",
  fittedAt: "2026-11-30T00:00:00.000Z",
  bgnbd: { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259, logLikelihood: -9582.43, customers: 2357 },
  gammaGamma: { p: 6.25, q: 3.74, v: 15.44, logLikelihood: -4055.92, customers: 946 },
  tierCuts: { highValueClv: 40, potentialClv: 12, warningMonetary: 25 },
};

/**
 * Partition logs of purchases (amounts 0–60) and logins of a few customers over ~500 days, mostly
 * in time order with some disorder, at hours that differ, so days, gaps and spends vary.
 */
export function purchaseLogArbitrary(options: { customers: number; maxLength: number }): fc.Arbitrary<BatchRecord[]> {
  return fc
    .array(
      fc.record({
        customer: fc.integer({ min: 0, max: options.customers - 1 }),
        day: fc.integer({ min: 0, max: 500 }),
        jitter: fc.integer({ min: -15, max: 15 }),
        amount: fc.integer({ min: 0, max: 60 }),
        kind: fc.constantFrom("purchase", "purchase", "purchase", "login"),
      }),
      { minLength: 1, maxLength: options.maxLength },
    )
    .map((specs) =>
      specs
        .sort((left, right) => left.day - right.day)
        .map(({ customer, day, jitter, amount, kind }, index): BatchRecord => {
          const base = { eventId: `e${index}`, customerId: `c${customer}`, occurredAt: T0 + Math.max(0, day + jitter) * DAY_MS + (index % 3) * 3_600_000 };
          const event: CustomerEvent =
            kind === "purchase"
              ? { ...base, type: "purchase", properties: { orderId: `o${index}`, amountE4: amount * 10_000, currency: "USD", quantity: null } }
              : { ...base, type: "login", properties: { channel: null } };
          return { offset: String(index), event, receivedAt: 0 };
        }),
    );
}
