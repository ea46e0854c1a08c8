import { z } from "zod";
import { RFM_SEGMENTS, type RfmBoundaries, type RfmSegment } from "../rfm.ts";
import { RISK_LEVELS, STAGES, TENURE_PHASES, type RiskLevel, type Stage, type TenurePhase } from "../stages.ts";
import type { EpochMs } from "../time.ts";
import { VALUE_TIERS, type ValueTier } from "../value/types.ts";

/**
 * An audience is a saved, named filter over customer state. Every condition given must hold;
 * a condition left out holds for everyone. Lists are "one of"; ranges are inclusive (min ≤ x ≤ max).
 */
export interface Range {
  readonly min?: number | undefined;
  readonly max?: number | undefined;
}

export interface AudienceFilter {
  readonly stages?: readonly Stage[] | undefined;
  readonly valueTiers?: readonly ValueTier[] | undefined;
  readonly rfmSegments?: readonly RfmSegment[] | undefined;
  readonly riskLevels?: readonly RiskLevel[] | undefined;
  readonly tenurePhases?: readonly TenurePhase[] | undefined;
  /** Realised spend, in the reporting currency. */
  readonly monetary?: Range | undefined;
  readonly purchaseCount?: Range | undefined;
  /** (instant − last purchase) in days, fractional. */
  readonly daysSinceLastPurchase?: Range | undefined;
  readonly interactionScore?: Range | undefined;
  /** Under the active value model only: without one the condition holds for nobody. */
  readonly pAlive?: Range | undefined;
  readonly predictedClv?: Range | undefined;
}

export interface AudienceDefinition {
  /** Stable id: letters, digits, `_` and `-`. */
  readonly id: string;
  /** Increments with every update of this audience. */
  readonly version: number;
  readonly name: string;
  readonly filter: AudienceFilter;
}

/**
 * Every audience as of one change of any of them. A set is immutable and named by `version`; the
 * stream applies it where its control record stands on the input topic. `rfm` freezes the
 * population RFM boundaries with the set, so an RFM-segment condition decides the same in a replay.
 */
export interface AudienceDefinitions {
  readonly version: string;
  readonly audiences: readonly AudienceDefinition[];
  readonly rfm: RfmBoundaries | null;
}

/**
 * The definitions a partition applies, the instant they were activated there, and the sets active
 * before (newest first): a customer still on an older set moves through every later one in turn,
 * each at its own activation, so where the processor's sweep reached it makes no difference.
 */
export interface ActiveAudiences {
  readonly definitions: AudienceDefinitions;
  readonly activatedAt: EpochMs;
  readonly previous?: ActiveAudiences | null | undefined;
}

export const AUDIENCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Bounds are 0 or at least 10⁻⁶: a decaying figure (the interaction score) near the smallest
 * doubles stays on one value for ages, and its crossing could not be settled to the millisecond.
 */
const bound = z
  .number()
  .finite()
  .min(0)
  .refine((value) => value === 0 || value >= 1e-6, { message: "0 or at least 0.000001", params: { code: "TOO_SMALL" } });

const range = () =>
  z
    .object({ min: bound.optional(), max: bound.optional() })
    .strict()
    .refine((value) => value.min !== undefined || value.max !== undefined, { message: "give min, max or both", params: { code: "EMPTY_RANGE" } })
    .refine((value) => value.min === undefined || value.max === undefined || value.min <= value.max, { message: "min is above max", params: { code: "MIN_ABOVE_MAX" } });

const oneOf = <T extends readonly [string, ...string[]]>(values: T) => z.array(z.enum(values)).min(1).max(values.length);

/** The filter as an API accepts it: unknown keys, empty lists and inverted ranges are refused. */
export const audienceFilterSchema = z
  .object({
    stages: oneOf(STAGES).optional(),
    valueTiers: oneOf(VALUE_TIERS).optional(),
    rfmSegments: oneOf(RFM_SEGMENTS).optional(),
    riskLevels: oneOf(RISK_LEVELS).optional(),
    tenurePhases: oneOf(TENURE_PHASES).optional(),
    monetary: range().optional(),
    purchaseCount: range().optional(),
    daysSinceLastPurchase: range().optional(),
    interactionScore: range().optional(),
    pAlive: range().optional(),
    predictedClv: range().optional(),
  })
  .strict();

/** What a client sends to create or replace an audience (id, version and name rules). */
export const audienceInputSchema = z
  .object({
    id: z.string().regex(AUDIENCE_ID_PATTERN, "letters, digits, _ and -, at most 64, starting with a letter or digit").optional(),
    name: z.string().trim().min(1).max(200),
    filter: audienceFilterSchema,
  })
  .strict();

export type AudienceInput = z.infer<typeof audienceInputSchema>;

/** Time-dependent conditions: their answer changes with time alone, at crossings the core schedules. */
export function usesPredictions(filter: AudienceFilter): boolean {
  return filter.pAlive !== undefined || filter.predictedClv !== undefined;
}
