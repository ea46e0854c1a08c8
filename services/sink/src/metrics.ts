import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type SinkMetrics = ReturnType<typeof createSinkMetrics>;

export function createSinkMetrics(registry: Registry) {
  const registers = [registry];
  const metrics = {
    rows: new Counter({ name: "clm_sink_rows_written_total", help: "Rows written to ClickHouse by table", labelNames: ["table"] as const, registers }),
    skipped: new Counter({
      name: "clm_sink_records_skipped_total",
      help: "Records not written, by topic and reason (invalid input events are dead-lettered by the processor)",
      labelNames: ["topic", "reason"] as const,
      registers,
    }),
    flushes: new Counter({ name: "clm_sink_flushes_total", help: "Write attempts by outcome: ok or failed", labelNames: ["outcome"] as const, registers }),
    consecutiveFailedWrites: new Gauge({
      name: "clm_sink_consecutive_failed_writes",
      help: "Write attempts that failed since the last successful one (0 after a success): above 0 while ClickHouse refuses",
      registers,
    }),
    flushSeconds: new Histogram({
      name: "clm_sink_flush_duration_seconds",
      help: "Time to write one buffered batch (all tables) to ClickHouse",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    bufferedRows: new Gauge({ name: "clm_sink_buffered_rows", help: "Rows held in memory, not yet written", registers }),
    bufferLimit: new Gauge({
      name: "clm_sink_buffer_limit_rows",
      help: "Buffered rows at which the sink writes and holds its consumer until the write succeeds (SINK_BATCH_ROWS)",
      registers,
    }),
    registryUnavailable: new Counter({
      name: "clm_sink_registry_unavailable_total",
      help: "Tries to fetch a batch's writer schemas that the schema registry did not answer (down, 5xx, timeout), by topic: the batch waits and retries, nothing is skipped",
      labelNames: ["topic"] as const,
      registers,
    }),
    commitFailures: new Counter({ name: "clm_sink_commit_failures_total", help: "Offset commits that failed after a successful write (the rows come again and are deduplicated)", registers }),
  };
  // Series exist from the start (at 0), so rates and alerts work before the first write.
  for (const outcome of ["ok", "failed"]) metrics.flushes.inc({ outcome }, 0);
  metrics.bufferedRows.set(0);
  metrics.consecutiveFailedWrites.set(0);
  metrics.commitFailures.inc(0);
  return metrics;
}
