import { Counter, Gauge, type Registry } from "prom-client";

export type ModelerMetrics = ReturnType<typeof createModelerMetrics>;

export function createModelerMetrics(registry: Registry) {
  const registers = [registry];
  return {
    fits: new Counter({
      name: "clm_modeler_fits_total",
      help: "Fit-and-publish runs by outcome: published, skipped (nothing to fit yet: no purchases, no watermark) or failed (ClickHouse, Redis or Kafka away; retried with backoff)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    lastFitSeconds: new Gauge({ name: "clm_modeler_last_fit_duration_seconds", help: "How long the last fit-and-publish run took, whatever its outcome", registers }),
    lastFitTimestamp: new Gauge({ name: "clm_modeler_last_fit_timestamp_seconds", help: "When the last model was published (Unix time)", registers }),
    model: new Gauge({
      name: "clm_modeler_model_info",
      help: "The current value model: 1 for its version and calibration end",
      labelNames: ["version", "calibration_end"] as const,
      registers,
    }),
  };
}
