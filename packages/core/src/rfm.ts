import { DAY_MS, type EpochMs } from "./time.ts";

/**
 * RFM layering. Scores 1..5 come from population quantile boundaries, which are
 * an input (computed elsewhere: ClickHouse, a sketch, or computeRfmBoundaries
 * below over a population in memory). Each boundary list holds the 20th, 40th,
 * 60th and 80th percentiles, ascending.
 *   R: recency in days since the last purchase — fewer days scores higher.
 *   F: number of purchases.  M: monetary total in E4 units.
 */
export interface RfmBoundaries {
  recencyDays: readonly [number, number, number, number];
  frequency: readonly [number, number, number, number];
  monetaryE4: readonly [number, number, number, number];
}

export interface RfmScores {
  recency: number;
  frequency: number;
  monetary: number;
  /** Concatenated score as marketers write it, e.g. "545". */
  cell: string;
  segment: RfmSegment;
}

export const RFM_SEGMENTS = [
  "Champions",
  "Loyal",
  "Potential loyalist",
  "New",
  "Promising",
  "Need attention",
  "About to sleep",
  "At risk",
  "Can't lose",
  "Hibernating",
  "Lost",
] as const;
export type RfmSegment = (typeof RFM_SEGMENTS)[number];

/**
 * Segment by recency score (rows, 5 → 1) and the rounded-down mean of F and M
 * (columns, 1 → 5). Every cell is named, so every customer has a segment.
 */
const SEGMENT_GRID: Readonly<Record<number, readonly RfmSegment[]>> = {
  5: ["New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
  4: ["Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Champions"],
  3: ["About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"],
  2: ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose"],
  1: ["Lost", "Lost", "At risk", "Can't lose", "Can't lose"],
};

export function rfmSegment(recency: number, frequency: number, monetary: number): RfmSegment {
  const valueScore = Math.floor((frequency + monetary) / 2);
  return SEGMENT_GRID[recency]![valueScore - 1]!;
}

/** Higher value → higher score: 1 + the number of boundaries strictly below the value. */
function scoreAscending(value: number, boundaries: readonly number[]): number {
  let score = 1;
  for (const boundary of boundaries) if (value > boundary) score++;
  return score;
}

/** The three figures RFM scores (a state, or a transition's snapshot, has them). */
export interface RfmFigures {
  lastPurchaseAt: EpochMs | null;
  purchaseCount: number;
  monetaryE4: number;
}

/** RFM scores of a purchaser at instant `at`; null for a customer who never purchased. */
export function rfmScores(figures: RfmFigures, at: EpochMs, boundaries: RfmBoundaries): RfmScores | null {
  if (figures.lastPurchaseAt === null) return null;
  const recencyDays = Math.max(0, (at - figures.lastPurchaseAt) / DAY_MS);
  const recency = 6 - scoreAscending(recencyDays, boundaries.recencyDays);
  const frequency = scoreAscending(figures.purchaseCount, boundaries.frequency);
  const monetary = scoreAscending(figures.monetaryE4, boundaries.monetaryE4);
  return { recency, frequency, monetary, cell: `${recency}${frequency}${monetary}`, segment: rfmSegment(recency, frequency, monetary) };
}

const boundaryList = (value: unknown): value is [number, number, number, number] =>
  Array.isArray(value) && value.length === 4 && value.every((item, index) => typeof item === "number" && Number.isFinite(item) && (index === 0 || item >= (value[index - 1] as number)));

/** Validates boundaries read from storage (four ascending finite numbers per dimension), or null. */
export function parseRfmBoundaries(value: unknown): RfmBoundaries | null {
  if (typeof value !== "object" || value === null) return null;
  const candidate = value as Record<string, unknown>;
  if (!boundaryList(candidate.recencyDays) || !boundaryList(candidate.frequency) || !boundaryList(candidate.monetaryE4)) return null;
  return { recencyDays: candidate.recencyDays, frequency: candidate.frequency, monetaryE4: candidate.monetaryE4 };
}

/** Quantile q ∈ [0,1] of ascending values, linear interpolation between closest ranks. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower]!;
  return low + (sorted[upper]! - low) * (position - lower);
}

/** Boundaries (20/40/60/80th percentiles) from a population of purchasers at instant `at`. */
export function computeRfmBoundaries(states: Iterable<RfmFigures>, at: EpochMs): RfmBoundaries {
  const recency: number[] = [];
  const frequency: number[] = [];
  const monetary: number[] = [];
  for (const state of states) {
    if (state.lastPurchaseAt === null) continue;
    recency.push(Math.max(0, (at - state.lastPurchaseAt) / DAY_MS));
    frequency.push(state.purchaseCount);
    monetary.push(state.monetaryE4);
  }
  const cuts = (values: number[]) => {
    values.sort((left, right) => left - right);
    return [0.2, 0.4, 0.6, 0.8].map((q) => quantileSorted(values, q)) as unknown as readonly [number, number, number, number];
  };
  return { recencyDays: cuts(recency), frequency: cuts(frequency), monetaryE4: cuts(monetary) };
}
