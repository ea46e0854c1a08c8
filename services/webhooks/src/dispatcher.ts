import { subscribes, type DeliveryQueue, type Destination, type DestinationStore, type QueueStats, type Signal } from "@clm/destinations";
import type { Logger } from "@clm/observability";
import type { WebhooksMetrics } from "./metrics.ts";
import type { RetrySchedule } from "./retry-policy.ts";
import type { Send } from "./sender.ts";
import { DestinationWorker } from "./worker.ts";

export interface DispatcherOptions {
  store: DestinationStore;
  queue: DeliveryQueue;
  send: Send;
  schedule: RetrySchedule;
  maxInFlight: number;
  requestTimeoutMs: number;
  idlePollMs: number;
  /** How often the destinations' version is checked for changes made elsewhere (the CLI, another instance). */
  reloadIntervalMs: number;
  metrics: WebhooksMetrics;
  logger: Logger;
  now: () => number;
}

/**
 * The destinations as last read from Redis, one worker per destination. The consumer asks it whom a
 * signal goes to (refreshing first, so a destination created before a batch receives that batch's
 * signals); the workers run on their own, so nothing here waits for a destination.
 */
export class Dispatcher {
  private destinations = new Map<string, Destination>();
  private readonly workers = new Map<string, DestinationWorker>();
  private version = "";
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private followUp: Promise<void> | null = null;

  constructor(private readonly options: DispatcherOptions) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch((error: unknown) => this.options.logger.warn({ err: error }, "reloading destinations failed")), this.options.reloadIntervalMs);
  }

  /**
   * Reloads the destinations when their version changed; starts and stops workers to match. Resolves
   * after a read of Redis that began after this call: a reload already under way may have read the
   * version before a change the caller has just written, so callers then share one reload after it.
   */
  refresh(): Promise<void> {
    if (this.refreshing === null) {
      this.refreshing = this.reload().finally(() => (this.refreshing = null));
      return this.refreshing;
    }
    this.followUp ??= this.refreshing
      .catch(() => undefined)
      .then(() => {
        this.followUp = null;
        return this.refresh();
      });
    return this.followUp;
  }

  /**
   * After a change to how requests are signed or where they go (a secret rotation, a new URL): the
   * destinations reloaded, and every request sent before with the old settings answered or given up.
   * Once this resolves, no request without the new secret is still on its way, so a receiver may
   * switch to the new secret at once.
   */
  async applied(): Promise<void> {
    await this.refresh();
    await Promise.all([...this.workers.values()].map((worker) => worker.requestsSettled()));
  }

  private async reload(): Promise<void> {
    const { store, logger } = this.options;
    const version = await store.version();
    if (version === this.version) return;
    const next = new Map((await store.list()).map((destination) => [destination.id, destination]));
    this.destinations = next;
    this.version = version;
    for (const [id, worker] of this.workers) {
      if (next.has(id)) continue;
      this.workers.delete(id);
      await worker.stop();
      logger.info({ destination: id }, "destination removed; its worker stopped");
    }
    for (const id of next.keys()) {
      if (this.workers.has(id)) continue;
      const worker = new DestinationWorker({ ...this.options, destination: () => this.destinations.get(id) ?? next.get(id)! });
      this.workers.set(id, worker);
      worker.start();
      logger.info({ destination: id, url: next.get(id)!.url }, "delivering to destination");
    }
  }

  /** The destinations a signal goes to. */
  targets(signal: Signal): Destination[] {
    return [...this.destinations.values()].filter((destination) => subscribes(destination, signal.type, signal.audienceId));
  }

  wake(ids: Iterable<string>): void {
    for (const id of ids) this.workers.get(id)?.wake();
  }

  async stats(): Promise<Map<string, QueueStats>> {
    const out = new Map<string, QueueStats>();
    for (const id of this.destinations.keys()) out.set(id, await this.options.queue.stats(id));
    return out;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.workers.values()].map((worker) => worker.stop()));
    this.workers.clear();
  }
}
