/**
 * When the modeler fits next. Refits run on the wall clock (the process's own schedule), whatever
 * clock the pipeline's timers follow; only the calibration end comes from the pipeline's clock.
 */

/** At start: now when no model is current or the current one was fitted an interval ago or more; else when it turns one interval old. */
export function firstFitDelay(current: { fittedAt: string } | null, now: number, intervalMs: number): number {
  if (current === null) return 0;
  const fittedAt = Date.parse(current.fittedAt);
  if (Number.isNaN(fittedAt)) return 0;
  return Math.max(0, fittedAt + intervalMs - now);
}

/** After a failed try: the backoff's pause, never longer than the interval. */
export function retryDelay(backoffMs: number, intervalMs: number): number {
  return Math.min(backoffMs, intervalMs);
}
