import { tenurePhase } from "../classify.ts";
import type { LifecycleConfig } from "../lifecycle-config.ts";
import { MONEY_SCALE } from "../money.ts";
import { rfmScores } from "../rfm.ts";
import { scoreAt, scoreFallsBelowAt } from "../score.ts";
import type { MutableState, CustomerState } from "../state.ts";
import { riskLevel } from "../thresholds.ts";
import { DAY_MS, MINUTE_MS, utcDay, type EpochMs } from "../time.ts";
import { pAliveCrossingT } from "../value/bgnbd.ts";
import { clvFallsBelowT } from "../value/clv.ts";
import { decideValue, unitMs, valueSummaryAt, type ActiveValueModel } from "../value/stream.ts";
import type { ValuePrediction } from "../value/types.ts";
import type { RfmBoundaries, RfmSegment } from "../rfm.ts";
import type { RiskLevel, TenurePhase } from "../stages.ts";
import type { ActiveAudiences, AudienceDefinition, AudienceDefinitions, AudienceFilter, Range } from "./definition.ts";

/**
 * Audience membership in the stream. Membership is a pure function of the state and an instant:
 * audienceMemberships(state, at, …). The state keeps the ids of the audiences it is in (under one
 * definitions version) and the instant they were decided, and the core re-decides them after every
 * event and every timer step, and at the next instant a time-dependent condition can change
 * (audiencesReviewAt, part of nextDeadline). Stage, risk level and value tier change only at their
 * own deadlines, after which membership is re-decided; tenure phase, days since the last purchase
 * and RFM recency cross at closed-form instants; the interaction score at its exact decay crossing;
 * P(alive) and CLV fall monotonically between purchases, so their crossing is seeded by the value
 * model's closed form (P(alive)) or search (CLV) and settled to the millisecond by bisection.
 */

export type AudienceTrigger = "event" | "timer" | "definition";

/** A customer entering or leaving an audience, as published to the audience-change topic. */
export interface AudienceChange {
  /** `${customerId}:${version}`: deterministic, shared with the customer's other changes. */
  changeId: string;
  customerId: string;
  version: number;
  audienceId: string;
  /** The audience definition's version; null when the audience was deleted (the customer leaves it). */
  audienceVersion: number | null;
  /** The definitions set that decided. */
  definitionsVersion: string;
  change: "entered" | "left";
  occurredAt: EpochMs;
  trigger: AudienceTrigger;
  eventId: string | null;
}

/** The figures a filter reads at one instant, each computed once and only when a condition asks. */
class Figures {
  private prediction: ValuePrediction | null | undefined;
  private risk: RiskLevel | undefined;
  private phase: TenurePhase | null | undefined;
  private score: number | undefined;
  private segment: RfmSegment | null | undefined;

  constructor(
    readonly state: CustomerState,
    readonly at: EpochMs,
    readonly config: LifecycleConfig,
    readonly value: ActiveValueModel | null,
  ) {}

  riskLevel(): RiskLevel {
    return (this.risk ??= riskLevel(this.state, this.at, this.config));
  }

  tenurePhase(): TenurePhase | null {
    if (this.phase === undefined) this.phase = tenurePhase(this.state, this.at, this.config);
    return this.phase;
  }

  interactionScore(): number {
    return (this.score ??= scoreAt(this.state.score, this.at, this.config.score.halfLifeDays * DAY_MS));
  }

  rfmSegment(boundaries: RfmBoundaries | null): RfmSegment | null {
    if (this.segment === undefined) this.segment = boundaries === null ? null : (rfmScores(this.state, this.at, boundaries)?.segment ?? null);
    return this.segment;
  }

  predicted(): ValuePrediction | null {
    if (this.prediction === undefined) {
      this.prediction = this.value === null ? null : (decideValue(this.state, this.at, this.value.model, this.config)?.prediction ?? null);
    }
    return this.prediction;
  }
}

const inRange = (range: Range | undefined, value: number) => range === undefined || ((range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max));

/** Whether `filter` holds for the customer at the figures' instant. */
function matches(filter: AudienceFilter, figures: Figures, definitions: AudienceDefinitions): boolean {
  const { state, at } = figures;
  if (filter.stages !== undefined && !filter.stages.includes(state.stage)) return false;
  if (filter.valueTiers !== undefined && (state.valueTier === null || figures.value === null || state.valueModelVersion !== figures.value.model.version || !filter.valueTiers.includes(state.valueTier))) return false;
  if (filter.riskLevels !== undefined && !filter.riskLevels.includes(figures.riskLevel())) return false;
  if (filter.tenurePhases !== undefined) {
    const phase = figures.tenurePhase();
    if (phase === null || !filter.tenurePhases.includes(phase)) return false;
  }
  if (filter.monetary !== undefined && !inRangeE4(filter.monetary, state.monetaryE4)) return false;
  if (!inRange(filter.purchaseCount, state.purchaseCount)) return false;
  if (filter.daysSinceLastPurchase !== undefined) {
    if (state.lastPurchaseAt === null) return false;
    const gap = at - state.lastPurchaseAt;
    const { min, max } = filter.daysSinceLastPurchase;
    if ((min !== undefined && gap < min * DAY_MS) || (max !== undefined && gap > max * DAY_MS)) return false;
  }
  if (filter.interactionScore !== undefined && !inRange(filter.interactionScore, figures.interactionScore())) return false;
  if (filter.rfmSegments !== undefined) {
    const segment = figures.rfmSegment(definitions.rfm);
    if (segment === null || !filter.rfmSegments.includes(segment)) return false;
  }
  if (filter.pAlive !== undefined || filter.predictedClv !== undefined) {
    const prediction = figures.predicted();
    if (prediction === null || !inRange(filter.pAlive, prediction.pAlive) || !inRange(filter.predictedClv, prediction.clv)) return false;
  }
  return true;
}

/** Money compares in exact E4 units: the bounds are rounded to them once. */
function inRangeE4(range: Range, valueE4: number): boolean {
  return (range.min === undefined || valueE4 >= Math.round(range.min * MONEY_SCALE)) && (range.max === undefined || valueE4 <= Math.round(range.max * MONEY_SCALE));
}

/** The ids (ascending) of the audiences whose filter holds for the customer at `at`. */
export function audienceMemberships(state: CustomerState, at: EpochMs, definitions: AudienceDefinitions, config: LifecycleConfig, value: ActiveValueModel | null): string[] {
  const figures = new Figures(state, at, config, value);
  const ids: string[] = [];
  for (const audience of byId(definitions)) if (matches(audience.filter, figures, definitions)) ids.push(audience.id);
  return ids;
}

/** Each definitions set's audiences in id order, sorted once (sets are immutable). */
const SORTED = new WeakMap<AudienceDefinitions, readonly AudienceDefinition[]>();
function byId(definitions: AudienceDefinitions): readonly AudienceDefinition[] {
  let sorted = SORTED.get(definitions);
  if (sorted === undefined) SORTED.set(definitions, (sorted = [...definitions.audiences].sort((left, right) => compareIds(left.id, right.id))));
  return sorted;
}

/** The same as the previous memberships (the common case after a step): nothing to write. */
function sameIds(left: readonly string[], right: readonly string[]): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

const compareIds = (left: string, right: string) => (left < right ? -1 : left > right ? 1 : 0);

/**
 * The first instant after `after` at which a time-dependent condition of any audience can change
 * its answer without an event (null: none). Stage, risk and tier changes are the machine's own
 * deadlines and are not repeated here.
 */
export function nextAudienceReview(state: CustomerState, after: EpochMs, definitions: AudienceDefinitions, config: LifecycleConfig, value: ActiveValueModel | null): EpochMs | null {
  let next: EpochMs | null = null;
  const consider = (instant: EpochMs | null) => {
    if (instant !== null && instant > after && (next === null || instant < next)) next = instant;
  };
  const searched = new Map<string, EpochMs | null>();
  const once = (key: string, search: () => EpochMs | null) => {
    if (!searched.has(key)) searched.set(key, search());
    consider(searched.get(key)!);
  };
  const halfLifeMs = config.score.halfLifeDays * DAY_MS;
  for (const { filter } of definitions.audiences) {
    if (filter.tenurePhases !== undefined && state.firstPurchaseAt !== null) {
      const phases = config.tenurePhases;
      for (const fromDay of [phases.activationFromDay, phases.growthFromDay, phases.loyaltyFromDay]) consider(state.firstPurchaseAt + fromDay * DAY_MS);
    }
    if (filter.daysSinceLastPurchase !== undefined && state.lastPurchaseAt !== null) {
      const { min, max } = filter.daysSinceLastPurchase;
      if (min !== undefined) consider(state.lastPurchaseAt + Math.ceil(min * DAY_MS));
      if (max !== undefined) consider(state.lastPurchaseAt + Math.floor(max * DAY_MS) + 1);
    }
    if (filter.rfmSegments !== undefined && definitions.rfm !== null && state.lastPurchaseAt !== null) {
      for (const boundary of definitions.rfm.recencyDays) consider(state.lastPurchaseAt + recencyCrossingMs(boundary));
    }
    if (filter.interactionScore !== undefined) {
      const { min, max } = filter.interactionScore;
      if (min !== undefined) consider(scoreFallsBelowAt(state.score, min, halfLifeMs));
      if (max !== undefined) once(`score≤${max}`, () => scoreAtMostAt(state, max, halfLifeMs));
    }
    if (value !== null && state.firstPurchaseAt !== null && (filter.pAlive !== undefined || filter.predictedClv !== undefined)) {
      for (const [kind, range] of [["pAlive", filter.pAlive], ["clv", filter.predictedClv]] as const) {
        if (range === undefined) continue;
        if (range.min !== undefined) once(`${kind}<${range.min}`, () => predictionCrossing(state, after, config, value, kind, range.min!, false));
        if (range.max !== undefined) once(`${kind}≤${range.max}`, () => predictionCrossing(state, after, config, value, kind, range.max!, true));
      }
    }
  }
  return next;
}

/** The smallest gap (ms) whose recency in days, gap / DAY_MS, is above `boundary`: where rfmScores' R changes. */
function recencyCrossingMs(boundary: number): number {
  let gap = Math.max(0, Math.floor(boundary * DAY_MS) + 1);
  while (gap > 0 && (gap - 1) / DAY_MS > boundary) gap--;
  while (!(gap / DAY_MS > boundary)) gap++;
  return gap;
}

/** The first instant the decaying score is at most `max` (null: it already is, or it never decays). */
function scoreAtMostAt(state: CustomerState, max: number, halfLifeMs: number): EpochMs | null {
  const below = scoreFallsBelowAt(state.score, max, halfLifeMs);
  if (below === null) return null;
  let instant = below;
  while (instant - 1 > state.score.at && scoreAt(state.score, instant - 1, halfLifeMs) <= max) instant--;
  return instant;
}

/**
 * The first millisecond after `after` at which P(alive) or CLV falls below `threshold` (or to at
 * most it, with `inclusive`): both only fall between purchases. The model's closed form (P(alive))
 * or search (CLV, to a minute) seeds it; bisection settles the millisecond with the very
 * prediction the filter reads.
 */
function predictionCrossing(
  state: CustomerState,
  after: EpochMs,
  config: LifecycleConfig,
  value: ActiveValueModel,
  kind: "pAlive" | "clv",
  threshold: number,
  inclusive: boolean,
): EpochMs | null {
  const { model } = value;
  const read = (at: EpochMs) => {
    const prediction = decideValue(state, at, model, config)?.prediction;
    const figure = prediction === undefined ? Number.POSITIVE_INFINITY : kind === "pAlive" ? prediction.pAlive : prediction.clv;
    return inclusive ? figure <= threshold : figure < threshold;
  };
  if (read(after)) return null;
  const summary = valueSummaryAt(state, after, model.unit)!;
  const T =
    kind === "pAlive"
      ? summary.x > 0
        ? pAliveCrossingT(model.bgnbd, summary.x, summary.tx, threshold)
        : null
      : clvFallsBelowT(model.bgnbd, model.gammaGamma, summary, model.unit, config.value.clv, threshold, summary.T);
  if (T === null) return null;
  const origin = utcDay(state.firstPurchaseAt!) * DAY_MS;
  let high = Math.max(after + 1, Math.ceil(origin + T * unitMs(model.unit)));
  let step = MINUTE_MS;
  for (let tries = 0; !read(high); tries++) {
    if (tries >= 40) return null;
    high += step;
    step *= 2;
  }
  let low = after;
  const near = high - 2 * MINUTE_MS;
  if (near > low && !read(near)) low = near;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (read(middle)) high = middle;
    else low = middle;
  }
  return high;
}

/** Whether the customer's memberships were decided under other definitions than the latest active ones. */
export function needsAudienceRefit(state: CustomerState, active: ActiveAudiences | null): active is ActiveAudiences {
  return active !== null && state.audiencesVersion !== active.definitions.version;
}

/** The chain of active sets, oldest first. */
function chainOf(active: ActiveAudiences): ActiveAudiences[] {
  const chain: ActiveAudiences[] = [];
  for (let set: ActiveAudiences | null | undefined = active; set; set = set.previous) chain.push(set);
  return chain.reverse();
}

/** The set of the chain the customer's memberships were decided under (null: none of them). */
export function currentAudienceSet(state: CustomerState, active: ActiveAudiences | null): ActiveAudiences | null {
  if (active === null || state.audiencesVersion === null) return null;
  for (let set: ActiveAudiences | null | undefined = active; set; set = set.previous) if (set.definitions.version === state.audiencesVersion) return set;
  return null;
}

/** The next set the customer moves to (the one after its own in the chain, or the oldest kept), or null when it is on the latest. */
export function nextAudienceSet(state: CustomerState, active: ActiveAudiences | null): ActiveAudiences | null {
  if (!needsAudienceRefit(state, active)) return null;
  const chain = chainOf(active);
  const index = chain.findIndex((set) => set.definitions.version === state.audiencesVersion);
  return chain[index + 1] ?? chain[0]!;
}

/**
 * The instant a set re-decides a customer: its activation, never before the instant the
 * memberships were last decided. It depends only on the state and the set, so the customer's next
 * event, a timer and the processor's sweep all stamp the same changes.
 */
export function audienceRefitInstant(state: CustomerState, set: ActiveAudiences): EpochMs {
  return Math.max(set.activatedAt, state.audiencesReviewedAt ?? Number.NEGATIVE_INFINITY, state.firstSeenAt);
}

/** When the customer moves to its next set of definitions (null: it is on the latest). */
export function audienceRefitAt(state: CustomerState, active: ActiveAudiences | null): EpochMs | null {
  const next = nextAudienceSet(state, active);
  return next === null ? null : audienceRefitInstant(state, next);
}

/** Whether a time-dependent crossing under the customer's own set falls due at or before `now`. */
export function audienceReviewDue(state: CustomerState, now: EpochMs, active: ActiveAudiences | null): boolean {
  return currentAudienceSet(state, active) !== null && state.audiencesReviewAt !== null && state.audiencesReviewAt <= now;
}

/**
 * Re-decides the memberships at `at` into `state` (a fresh copy the caller owns) and returns the
 * changes, ordered by audience id; each bumps the customer's version.
 */
export function reviewAudiences(
  state: MutableState,
  at: EpochMs,
  active: ActiveAudiences,
  config: LifecycleConfig,
  value: ActiveValueModel | null,
  trigger: AudienceTrigger,
  eventId: string | null,
): AudienceChange[] {
  const { definitions } = active;
  const now = audienceMemberships(state, at, definitions, config, value);
  const before = state.audiencesVersion === null ? [] : state.audienceIds;
  const changes: AudienceChange[] = [];
  if (state.audiencesVersion === definitions.version && sameIds(before, now)) {
    state.audiencesReviewedAt = at;
    state.audiencesReviewAt = nextAudienceReview(state, at, definitions, config, value);
    return changes;
  }
  const versionOf = (id: string) => definitions.audiences.find((audience) => audience.id === id)?.version ?? null;
  let left = 0;
  let right = 0;
  while (left < before.length || right < now.length) {
    const was = before[left];
    const is = now[right];
    let audienceId: string;
    let change: "entered" | "left";
    if (is === undefined || (was !== undefined && was < is)) {
      audienceId = was!;
      change = "left";
      left++;
    } else if (was === undefined || is < was) {
      audienceId = is;
      change = "entered";
      right++;
    } else {
      left++;
      right++;
      continue;
    }
    state.version += 1;
    changes.push({
      changeId: `${state.customerId}:${state.version}`,
      customerId: state.customerId,
      version: state.version,
      audienceId,
      audienceVersion: versionOf(audienceId),
      definitionsVersion: definitions.version,
      change,
      occurredAt: at,
      trigger,
      eventId,
    });
  }
  state.audienceIds = changes.length === 0 && state.audiencesVersion !== null ? state.audienceIds : now;
  state.audiencesVersion = definitions.version;
  state.audiencesReviewedAt = at;
  state.audiencesReviewAt = nextAudienceReview(state, at, definitions, config, value);
  return changes;
}
