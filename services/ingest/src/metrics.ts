import { Counter, Histogram, type Registry } from "prom-client";

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  const metrics = {
    requests: new Counter({ name: "clm_ingest_requests_total", help: "HTTP requests by route and status", labelNames: ["route", "status"] as const, registers }),
    accepted: new Counter({ name: "clm_ingest_events_accepted_total", help: "Events acknowledged by Kafka", registers }),
    rejected: new Counter({ name: "clm_ingest_events_rejected_total", help: "Events rejected, by the first invalid field", labelNames: ["field"] as const, registers }),
    publishSeconds: new Histogram({
      name: "clm_ingest_publish_duration_seconds",
      help: "Time from a valid batch to Kafka's acknowledgement",
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
  };
  metrics.accepted.inc(0);
  return metrics;
}
