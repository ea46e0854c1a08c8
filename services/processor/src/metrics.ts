import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>;

export function createProcessorMetrics(registry: Registry) {
  const registers = [registry];
  const metrics = {
    events: new Counter({
      name: "clm_processor_events_total",
      help: "Input records by outcome: applied, duplicate, dead_letter, redelivered (skipped, already applied)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    batchSeconds: new Histogram({
      name: "clm_processor_batch_duration_seconds",
      help: "Time to fold and commit one batch of a partition",
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchEvents: new Histogram({
      name: "clm_processor_batch_events",
      help: "Records per batch",
      buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000, 50000],
      registers,
    }),
    customersWritten: new Counter({
      name: "clm_processor_customer_writes_total",
      help: "Customer states written to Redis (one per changed customer per batch): writes per applied event show how well batches amortise",
      registers,
    }),
    stateLoads: new Counter({
      name: "clm_processor_state_loads_total",
      help: "Customer states a batch or timer sweep needed, by source: cache (kept in memory since this process wrote it) or redis",
      labelNames: ["source"] as const,
      registers,
    }),
    lag: new Gauge({ name: "clm_processor_consumer_lag", help: "Records behind the partition's high watermark", labelNames: ["partition"] as const, registers }),
    transitions: new Counter({
      name: "clm_processor_transitions_total",
      help: "Stage changes by from, to and trigger",
      labelNames: ["from", "to", "trigger"] as const,
      registers,
    }),
    timersDue: new Gauge({ name: "clm_processor_timers_due", help: "Customers whose deadline has passed and not yet fired, per partition", labelNames: ["partition"] as const, registers }),
    tierChanges: new Counter({
      name: "clm_processor_value_tier_changes_total",
      help: "Value-tier changes by from, to and trigger (event, timer, refit)",
      labelNames: ["from", "to", "trigger"] as const,
      registers,
    }),
    riskChanges: new Counter({
      name: "clm_processor_risk_changes_total",
      help: "Churn-risk level changes within a stage by from, to and trigger (event, timer)",
      labelNames: ["from", "to", "trigger"] as const,
      registers,
    }),
    valueModelActivations: new Counter({ name: "clm_processor_value_model_activations_total", help: "Value-model activation records applied (one per partition per model)", registers }),
    refittedCustomers: new Counter({ name: "clm_processor_refitted_customers_total", help: "Customers the refit sweep moved to a newly active value model", registers }),
    refitPending: new Gauge({ name: "clm_processor_refit_pending", help: "1 while the partition's refit sweep to a newly active value model is under way", labelNames: ["partition"] as const, registers }),
    timersFired: new Counter({ name: "clm_processor_timers_fired_total", help: "Timer-triggered stage changes", registers }),
    outboxPending: new Gauge({ name: "clm_processor_outbox_pending", help: "Stage changes written but not yet published, per partition", labelNames: ["partition"] as const, registers }),
    outboxOldestAge: new Gauge({
      name: "clm_processor_outbox_oldest_age_seconds",
      help: "Seconds since the oldest stage change still in the partition's outbox was written to Redis (0: empty); owned partitions only",
      labelNames: ["partition"] as const,
      registers,
    }),
    published: new Counter({ name: "clm_processor_stage_changes_published_total", help: "Stage-change records published", registers }),
    deadLetters: new Counter({ name: "clm_processor_dead_letters_total", help: "Records sent to the dead-letter topic, by code", labelNames: ["code"] as const, registers }),
    clockAdvances: new Counter({
      name: "clm_processor_clock_advances_total",
      help: "Clock-advance control records by outcome: applied (event clock) or ignored (wall clock)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    registryUnavailable: new Counter({
      name: "clm_processor_registry_unavailable_total",
      help: "Tries to fetch a batch's writer schemas that the schema registry did not answer (down, 5xx, timeout): the batch waits and retries, nothing is dead-lettered",
      registers,
    }),
    redisUsedMemory: new Gauge({ name: "clm_processor_redis_used_memory_bytes", help: "Redis INFO memory used_memory, read every 15 s", registers }),
    redisMaxMemory: new Gauge({ name: "clm_processor_redis_maxmemory_bytes", help: "Redis INFO memory maxmemory (0: no limit), read every 15 s", registers }),
    customers: new Gauge({ name: "clm_processor_customers", help: "Customer states under the key prefix in Redis, counted by SCAN every 60 s", registers }),
    fencedWrites: new Counter({ name: "clm_processor_fenced_writes_total", help: "Writes refused because another writer committed first (rebalance, sweep race)", registers }),
    stateChangedUnder: new Counter({
      name: "clm_processor_redis_state_changed_total",
      help: "Times a partition's write sequence in Redis was found changed outside a write of this process (a failover or Redis restart took writes back, or another writer): its state is reloaded and the consumer goes back to Redis's applied offset",
      registers,
    }),
    redisReplicaShortfalls: new Counter({
      name: "clm_processor_redis_replica_shortfalls_total",
      help: "WAITs after a commit or before publishing the outbox that fewer than REDIS_WAIT_REPLICAS replicas acknowledged in time: the commit or publish is retried",
      registers,
    }),
  };
  // Series exist from the start (at 0), so rates and alerts work before the first event.
  for (const outcome of ["applied", "duplicate", "dead_letter", "redelivered"]) metrics.events.inc({ outcome }, 0);
  metrics.timersFired.inc(0);
  metrics.published.inc(0);
  metrics.fencedWrites.inc(0);
  metrics.stateChangedUnder.inc(0);
  metrics.redisReplicaShortfalls.inc(0);
  for (const outcome of ["applied", "ignored"]) metrics.clockAdvances.inc({ outcome }, 0);
  metrics.registryUnavailable.inc(0);
  metrics.customersWritten.inc(0);
  for (const source of ["cache", "redis"]) metrics.stateLoads.inc({ source }, 0);
  return metrics;
}
