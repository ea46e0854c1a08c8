import type { RiskChange } from "./risk.ts";
import type { ActiveAudiences } from "./audiences/definition.ts";
import type { AudienceChange } from "./audiences/membership.ts";
import type { CustomerEvent } from "./contract.ts";
import type { LifecycleConfig } from "./lifecycle-config.ts";
import { advanceTo, applyEvent, type StageTransition } from "./machine.ts";
import type { Stage } from "./stages.ts";
import type { CustomerState } from "./state.ts";
import type { EpochMs } from "./time.ts";
import type { ActiveValueModel, ValueTierChange } from "./value/stream.ts";

export interface PopulationReplay {
  states: Map<string, CustomerState>;
  transitions: StageTransition[];
  /** Value-tier changes (with a value model). */
  tierChanges: ValueTierChange[];
  riskChanges: RiskChange[];
  audienceChanges: AudienceChange[];
  applied: number;
  duplicates: number;
  rejected: { eventId: string; reason: string }[];
}

/**
 * Folds a whole population in memory: each event into its customer's state, in
 * the order given, then every customer's timers up to `until`. Because timer
 * history does not depend on when timers run, this is exactly what a processor
 * in event-time mode arrives at for the same input (and what tests compare to).
 */
export function replayPopulation(
  events: Iterable<CustomerEvent>,
  config: LifecycleConfig,
  until?: EpochMs,
  value: ActiveValueModel | null = null,
  audiences: ActiveAudiences | null = null,
): PopulationReplay {
  const replay: PopulationReplay = { states: new Map(), transitions: [], tierChanges: [], riskChanges: [], audienceChanges: [], applied: 0, duplicates: 0, rejected: [] };
  for (const event of events) {
    const step = applyEvent(replay.states.get(event.customerId), event, config, 0, value, audiences);
    if (step.state !== undefined) replay.states.set(event.customerId, step.state);
    let applied = true;
    for (const effect of step.effects) {
      if (effect.kind === "stage_changed") replay.transitions.push(effect.transition);
      else if (effect.kind === "value_tier_changed") replay.tierChanges.push(effect.change);
      else if (effect.kind === "risk_changed") replay.riskChanges.push(effect.change);
      else if (effect.kind === "audience_changed") replay.audienceChanges.push(effect.change);
      else if (effect.kind === "duplicate_ignored") {
        replay.duplicates++;
        applied = false;
      } else {
        replay.rejected.push({ eventId: effect.eventId, reason: effect.reason });
        applied = false;
      }
    }
    if (applied) replay.applied++;
  }
  if (until !== undefined) {
    for (const [customerId, state] of replay.states) {
      const step = advanceTo(state, until, config, value, audiences);
      replay.states.set(customerId, step.state);
      for (const effect of step.effects) {
        if (effect.kind === "stage_changed") replay.transitions.push(effect.transition);
        else if (effect.kind === "value_tier_changed") replay.tierChanges.push(effect.change);
        else if (effect.kind === "risk_changed") replay.riskChanges.push(effect.change);
        else if (effect.kind === "audience_changed") replay.audienceChanges.push(effect.change);
      }
    }
  }
  return replay;
}

/** Count of customers per stage, every stage present (0 when empty). */
export function stageDistribution(states: Iterable<CustomerState>, stages: readonly Stage[]): Record<Stage, number> {
  const counts = Object.fromEntries(stages.map((stage) => [stage, 0])) as Record<Stage, number>;
  for (const state of states) counts[state.stage]++;
  return counts;
}
