import { z } from "zod";
import { amountToE4 } from "./money.ts";

/**
 * The lifecycle model: every threshold the stage machine uses, with defaults
 * taken from customer-lifecycle practice. Validated once (from a JSON file or an
 * object), then frozen. All durations are in days; the core converts to ms.
 */

const days = z.number().nonnegative();
const positiveDays = z.number().positive();

/** Tenure phases by days since the first purchase (acquisition 0-1, activation 2-30, growth 1-6 months, loyalty 6 months+). */
const tenurePhasesSchema = z
  .object({
    acquisitionFromDay: z.literal(0).default(0),
    activationFromDay: z.number().int().positive().default(2),
    growthFromDay: z.number().int().positive().default(31),
    loyaltyFromDay: z.number().int().positive().default(181),
  })
  .strict()
  .refine((phases) => phases.activationFromDay < phases.growthFromDay && phases.growthFromDay < phases.loyaltyFromDay, {
    message: "tenure phases must start in order: activation < growth < loyalty",
  });

const churnSchema = z
  .object({
    /** Used while a customer has fewer than `personal.minGaps` gaps between purchase days. */
    population: z
      .object({ warnAfterDays: positiveDays.default(90), churnAfterDays: positiveDays.default(180) })
      .strict()
      .default({ warnAfterDays: 90, churnAfterDays: 180 }),
    /** Personal thresholds: multiples of the customer's own mean gap between purchase days, clamped. */
    personal: z
      .object({
        minGaps: z.number().int().min(1).default(2),
        warnMultiplier: z.number().positive().default(2),
        churnMultiplier: z.number().positive().default(4),
        warnFloorDays: positiveDays.default(30),
        warnCeilingDays: positiveDays.default(180),
        churnFloorDays: positiveDays.default(60),
        churnCeilingDays: positiveDays.default(365),
      })
      .strict()
      .default({
        minGaps: 2,
        warnMultiplier: 2,
        churnMultiplier: 4,
        warnFloorDays: 30,
        warnCeilingDays: 180,
        churnFloorDays: 60,
        churnCeilingDays: 365,
      }),
    /** Risk grows with the purchase gap: low from lowAtWarnFraction × warn, medium from warn, high from warn + highAtFraction × (churn − warn). */
    risk: z
      .object({
        lowAtWarnFraction: z.number().gt(0).lt(1).default(0.5),
        highAtFraction: z.number().gt(0).lt(1).default(0.5),
      })
      .strict()
      .default({ lowAtWarnFraction: 0.5, highAtFraction: 0.5 }),
  })
  .strict()
  .refine((churn) => churn.population.warnAfterDays < churn.population.churnAfterDays, {
    message: "population.warnAfterDays must be below population.churnAfterDays",
  })
  .refine(
    (churn) =>
      churn.personal.warnFloorDays <= churn.personal.warnCeilingDays &&
      churn.personal.churnFloorDays <= churn.personal.churnCeilingDays &&
      churn.personal.warnMultiplier < churn.personal.churnMultiplier,
    { message: "personal: floors must not exceed ceilings and warnMultiplier must be below churnMultiplier" },
  );

const decimalAmount = z
  .union([z.string(), z.number()])
  .transform((value, context) => {
    const e4 = amountToE4(value);
    if (e4 === null) {
      context.addIssue({ code: "custom", message: "expected a non-negative decimal with up to 4 fraction digits" });
      return z.NEVER;
    }
    return e4;
  });

export const lifecycleConfigSchema = z
  .object({
    /** The one currency the pipeline folds; events in any other currency are rejected. */
    reportingCurrency: z.string().regex(/^[A-Z]{3}$/, "expected an ISO 4217 code").default("USD"),
    tenurePhases: tenurePhasesSchema.default({ acquisitionFromDay: 0, activationFromDay: 2, growthFromDay: 31, loyaltyFromDay: 181 }),
    churn: churnSchema.default({
      population: { warnAfterDays: 90, churnAfterDays: 180 },
      personal: {
        minGaps: 2,
        warnMultiplier: 2,
        churnMultiplier: 4,
        warnFloorDays: 30,
        warnCeilingDays: 180,
        churnFloorDays: 60,
        churnCeilingDays: 365,
      },
      risk: { lowAtWarnFraction: 0.5, highAtFraction: 0.5 },
    }),
    /** Loyal = in the loyalty phase (tenure) and above both value thresholds. */
    loyal: z
      .object({
        enabled: z.boolean().default(true),
        minPurchaseDays: z.number().int().min(2).default(4),
        minMonetary: decimalAmount.default(100 * 10_000),
      })
      .strict()
      .default({ enabled: true, minPurchaseDays: 4, minMonetary: 100 * 10_000 }),
    /** A purchase after `churned` makes the customer `won_back` for this long; 0 disables the stage. */
    wonBack: z.object({ periodDays: days.default(90) }).strict().default({ periodDays: 90 }),
    /** Interaction score: each event adds its weight, halving every halfLifeDays. */
    score: z
      .object({
        halfLifeDays: positiveDays.default(30),
        weights: z
          .object({
            purchase: z.number().nonnegative().default(1),
            login: z.number().nonnegative().default(0.2),
            support: z.number().nonnegative().default(0.1),
          })
          .strict()
          .default({ purchase: 1, login: 0.2, support: 0.1 }),
        /** Below this score a purchaser is at_risk (0 disables the rule). */
        floor: z.number().nonnegative().default(0.05),
      })
      .strict()
      .default({ halfLifeDays: 30, weights: { purchase: 1, login: 0.2, support: 0.1 }, floor: 0.05 }),
    /**
     * Duplicate detection is exact: every event id folded within the retention (processing
     * time, from the id's first arrival) is kept in the customer's state, and a repeat of one
     * changes nothing. Kafka redelivery never reaches this: the processor's applied offsets cover it.
     */
    // 7 days: a client retrying after a timeout or an outage, or a source re-sending a day's export, repeats within it.
    dedupe: z
      .object({ retentionDays: z.number().positive().max(3650).default(7) })
      .strict()
      .default({ retentionDays: 7 }),
    /**
     * Customer value (BG/NBD + Gamma-Gamma): the time unit of the models, the horizons of
     * the predictions and how value tiers are cut. Tier boundaries are frozen with each
     * fitted model version as quantiles of the fit's population (docs/lifecycle.md).
     */
    value: z
      .object({
        unit: z.enum(["day", "week"]).default("week"),
        /** Expected purchases are predicted over this many days. */
        purchaseHorizonDays: positiveDays.default(90),
        clv: z
          .object({
            horizonMonths: z.number().int().min(1).max(120).default(12),
            monthlyDiscountRate: z.number().min(0).max(1).default(0),
          })
          .strict()
          .default({ horizonMonths: 12, monthlyDiscountRate: 0 }),
        tiers: z
          .object({
            /** high_value: predicted CLV at or above this quantile of the fit population's CLV. */
            highValueQuantile: z.number().gt(0).lt(1).default(0.8),
            /** potential: predicted CLV at or above this quantile (and below high_value's). */
            potentialQuantile: z.number().gt(0).lt(1).default(0.5),
            /** warning: P(alive) below this, for a customer whose realised spend is valuable. */
            warningPAlive: z.number().gt(0).lt(1).default(0.5),
            /** Valuable realised spend: at or above this quantile of the fit population's total spend. */
            warningMonetaryQuantile: z.number().gt(0).lt(1).default(0.5),
          })
          .strict()
          .refine((tiers) => tiers.potentialQuantile < tiers.highValueQuantile, {
            message: "potentialQuantile must be below highValueQuantile",
          })
          .default({ highValueQuantile: 0.8, potentialQuantile: 0.5, warningPAlive: 0.5, warningMonetaryQuantile: 0.5 }),
      })
      .strict()
      .default({
        unit: "week",
        purchaseHorizonDays: 90,
        clv: { horizonMonths: 12, monthlyDiscountRate: 0 },
        tiers: { highValueQuantile: 0.8, potentialQuantile: 0.5, warningPAlive: 0.5, warningMonetaryQuantile: 0.5 },
      }),
    /** Distinct purchase days are kept exactly up to this many per customer (for exact out-of-order folding). */
    maxPurchaseDaysKept: z.number().int().min(16).max(10_000).default(400),
  })
  .strict();

export type LifecycleConfigInput = z.input<typeof lifecycleConfigSchema>;
export type LifecycleConfig = Readonly<z.output<typeof lifecycleConfigSchema>>;

export class LifecycleConfigError extends Error {
  readonly code = "LIFECYCLE_CONFIG_INVALID";
  constructor(readonly problems: ReadonlyArray<{ path: string; message: string }>) {
    super("invalid lifecycle config:\n" + problems.map((problem) => `  ${problem.path}: ${problem.message}`).join("\n"));
    this.name = "LifecycleConfigError";
  }
}

/** Validates a (partial) lifecycle model; missing fields take the documented defaults. */
export function parseLifecycleConfig(input: unknown = {}): LifecycleConfig {
  const parsed = lifecycleConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new LifecycleConfigError(
      parsed.error.issues.map((issue) => ({ path: issue.path.join(".") || "(root)", message: issue.message })),
    );
  }
  return deepFreeze(parsed.data);
}

export const DEFAULT_LIFECYCLE_CONFIG: LifecycleConfig = parseLifecycleConfig({});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
