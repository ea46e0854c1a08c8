import { Counter, Histogram, type Registry } from "prom-client";

export type ConsoleMetrics = ReturnType<typeof createConsoleMetrics>;

export function createConsoleMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({ name: "clm_console_requests_total", help: "Console requests by route and status", labelNames: ["route", "status"] as const, registers }),
    querySeconds: new Histogram({
      name: "clm_console_api_duration_seconds",
      help: "Time to answer one API request (ClickHouse views or the customer API)",
      labelNames: ["route"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
}
