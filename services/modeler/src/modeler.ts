import { Backoff } from "@clm/backoff";
import type { Logger } from "@clm/observability";
import type { ModelerMetrics } from "./metrics.ts";
import { firstFitDelay, retryDelay } from "./schedule.ts";

/** What one run did: a published model, or nothing to fit yet (no purchases, no watermark). */
export type FitOutcome = { kind: "published"; version: string; calibrationEnd: string; fittedAt: string } | { kind: "skipped"; reason: string };

export interface ModelerOptions {
  /** Fits and publishes once; throws when a server is away. */
  fitAndPublish: () => Promise<FitOutcome>;
  /** The current model (Redis), to schedule the first fit; throws when Redis is away. */
  current: () => Promise<{ version: string; calibrationEnd: string; fittedAt: string } | null>;
  intervalMs: number;
  retryMaxMs: number;
  /** Wall clock, epoch ms. */
  now: () => number;
  logger: Logger;
  metrics: ModelerMetrics;
}

/**
 * The refit schedule: the first fit at start when no model is current or it is an interval old,
 * then one every interval. A failed run (ClickHouse, Redis or Kafka away) is counted, logged and
 * tried again after a backoff (5 s doubling up to MODEL_RETRY_MAX_MS, never longer than the
 * interval); nothing a run throws stops the service. Runs never overlap.
 */
export class Modeler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly backoff: Backoff;

  constructor(private readonly options: ModelerOptions) {
    this.backoff = new Backoff({ initialMs: Math.min(5_000, options.retryMaxMs), maxMs: options.retryMaxMs });
  }

  /** Schedules the first run (reading the current model; if Redis is away, the first run is now). */
  async start(): Promise<void> {
    let delay = 0;
    try {
      const current = await this.options.current();
      if (current !== null) this.options.metrics.model.set({ version: current.version, calibration_end: current.calibrationEnd }, 1);
      delay = firstFitDelay(current, this.options.now(), this.options.intervalMs);
      this.options.logger.info({ current: current?.version ?? null, firstFitInMs: delay }, "modeler scheduled");
    } catch (error) {
      this.options.logger.warn({ err: error }, "could not read the current model; fitting now");
    }
    this.schedule(delay);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce();
    }, delayMs);
  }

  private async runOnce(): Promise<void> {
    const { metrics, logger } = this.options;
    const started = performance.now();
    let next: number;
    try {
      const outcome = await this.options.fitAndPublish();
      metrics.fits.inc({ outcome: outcome.kind });
      if (outcome.kind === "published") {
        this.backoff.reset();
        metrics.lastFitTimestamp.set(Date.parse(outcome.fittedAt) / 1000);
        metrics.model.reset();
        metrics.model.set({ version: outcome.version, calibration_end: outcome.calibrationEnd }, 1);
        logger.info({ version: outcome.version, calibrationEnd: outcome.calibrationEnd }, "value model published");
        next = this.options.intervalMs;
      } else {
        next = retryDelay(this.backoff.next(), this.options.intervalMs);
        logger.info({ reason: outcome.reason, retryInMs: next }, "nothing to fit yet");
      }
    } catch (error) {
      metrics.fits.inc({ outcome: "failed" });
      next = retryDelay(this.backoff.next(), this.options.intervalMs);
      logger.warn({ err: error, failures: this.backoff.failures, retryInMs: next }, "value model fit failed");
    } finally {
      metrics.lastFitSeconds.set((performance.now() - started) / 1000);
    }
    this.schedule(next);
  }
}
