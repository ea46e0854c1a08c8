import type { CustomerEvent } from "../contract.ts";
import type { LifecycleConfig } from "../lifecycle-config.ts";
import { advanceTo, applyEvent, type Effect, type StageTransition } from "../machine.ts";
import type { CustomerState } from "../state.ts";

/** Folds events of one customer in the given order, optionally advancing to `until` at the end. */
export function foldAll(
  events: readonly CustomerEvent[],
  config: LifecycleConfig,
  until?: number,
): { state: CustomerState | undefined; effects: Effect[]; transitions: StageTransition[] } {
  let state: CustomerState | undefined;
  const effects: Effect[] = [];
  for (const event of events) {
    const step = applyEvent(state, event, config);
    state = step.state;
    effects.push(...step.effects);
  }
  if (state !== undefined && until !== undefined) {
    const step = advanceTo(state, until, config);
    state = step.state;
    effects.push(...step.effects);
  }
  const transitions = effects.flatMap((effect) => (effect.kind === "stage_changed" ? [effect.transition] : []));
  return { state, effects, transitions };
}

/** The order-independent part of a state, with the float score rounded for comparison. */
export function aggregatesOf(state: CustomerState | undefined, halfLifeMs: number, at: number) {
  if (state === undefined) return undefined;
  const { version: _version, stage: _stage, stageSince: _stageSince, wonBackAt: _wonBackAt, riskLevel: _riskLevel, riskSince: _riskSince, score, ...rest } = state;
  const value = score.value * Math.pow(2, -(at - score.at) / halfLifeMs);
  return { ...rest, scoreAtT: Number(value.toPrecision(10)) };
}
