import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { QueueStats } from "@clm/destinations";

export type WebhooksMetrics = ReturnType<typeof createWebhooksMetrics>;

/** Reads each destination's queue when /metrics is scraped (lag, depth, dead letters live in Redis). */
export type QueueStatsSource = () => Promise<ReadonlyMap<string, QueueStats>>;

export function createWebhooksMetrics(registry: Registry, stats: QueueStatsSource = async () => new Map()) {
  const registers = [registry];
  let collected: Promise<ReadonlyMap<string, QueueStats>> | null = null;
  // One Redis read per scrape for the three gauges below.
  const current = () => (collected ??= stats().finally(() => setTimeout(() => (collected = null), 0)));
  const metrics = {
    consumed: new Counter({ name: "clm_webhooks_signals_consumed_total", help: "Signal records read from Kafka, by webhook type", labelNames: ["type"] as const, registers }),
    enqueued: new Counter({ name: "clm_webhooks_enqueued_total", help: "Messages queued for delivery (one per subscribed destination and signal)", labelNames: ["destination"] as const, registers }),
    skipped: new Counter({ name: "clm_webhooks_records_skipped_total", help: "Records on a signal topic that do not decode, by topic and reason (not delivered)", labelNames: ["topic", "reason"] as const, registers }),
    registryUnavailable: new Counter({ name: "clm_webhooks_registry_unavailable_total", help: "Tries to fetch a batch's writer schemas the schema registry did not answer (the batch waits)", labelNames: ["topic"] as const, registers }),
    redisReplicaShortfalls: new Counter({
      name: "clm_webhooks_redis_replica_shortfalls_total",
      help: "Queued batches whose WAIT fewer than REDIS_WAIT_REPLICAS replicas acknowledged in time: the batch is queued again before its offsets are committed",
      registers,
    }),
    delivered: new Counter({ name: "clm_webhooks_delivered_total", help: "Messages a destination acknowledged with 2xx", labelNames: ["destination"] as const, registers }),
    requests: new Counter({ name: "clm_webhooks_requests_total", help: "Requests sent, by outcome: delivered, retry, dead_letter", labelNames: ["destination", "outcome"] as const, registers }),
    failedAttempts: new Counter({
      name: "clm_webhooks_failed_attempts_total",
      help: "Requests that did not deliver, by reason: status_5xx, status_429, status_408, status_4xx, status_other, timeout, network",
      labelNames: ["destination", "reason"] as const,
      registers,
    }),
    retried: new Counter({ name: "clm_webhooks_retried_total", help: "Messages rescheduled for another try after a failed one", labelNames: ["destination"] as const, registers }),
    deadLettered: new Counter({ name: "clm_webhooks_dead_lettered_total", help: "Messages moved to the dead letters, by reason: permanent (4xx) or expired (retry period over)", labelNames: ["destination", "reason"] as const, registers }),
    latency: new Histogram({
      name: "clm_webhooks_delivery_latency_seconds",
      help: "From a signal's creation (its Kafka record's timestamp) to the destination's 2xx",
      labelNames: ["destination"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21_600, 86_400],
      registers,
    }),
    lag: new Gauge({
      name: "clm_webhooks_lag_seconds",
      help: "Age of the oldest undelivered message per destination (0 when none waits)",
      labelNames: ["destination"] as const,
      registers,
      async collect() {
        this.reset();
        const now = Date.now();
        for (const [destination, entry] of await current()) this.set({ destination }, entry.oldestCreatedAt === null ? 0 : Math.max(0, now - entry.oldestCreatedAt) / 1000);
      },
    }),
    queued: new Gauge({
      name: "clm_webhooks_queued_messages",
      help: "Messages waiting for delivery per destination",
      labelNames: ["destination"] as const,
      registers,
      async collect() {
        this.reset();
        for (const [destination, entry] of await current()) this.set({ destination }, entry.queued);
      },
    }),
    deadLetters: new Gauge({
      name: "clm_webhooks_dead_letters",
      help: "Dead letters held per destination (until replayed or the destination is deleted)",
      labelNames: ["destination"] as const,
      registers,
      async collect() {
        this.reset();
        for (const [destination, entry] of await current()) this.set({ destination }, entry.deadLetters);
      },
    }),
  };
  return metrics;
}
