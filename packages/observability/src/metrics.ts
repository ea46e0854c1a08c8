import { Registry, collectDefaultMetrics } from "prom-client";

/**
 * One prom-client registry per process, with Node's default metrics (CPU, memory,
 * event-loop lag) and a `service` label on every series. Services register their
 * own metrics on the registry they are given; nothing uses the global registry.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
