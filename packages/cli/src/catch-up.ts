/** One look at the pipeline: each watched group's lag and the stage-change topic's end offsets (Σ high). */
export interface PipelineSample {
  atMs: number;
  lags: Record<string, bigint>;
  stageChangeEnd: bigint;
}

export interface CatchUpVerdict {
  caughtUp: boolean;
  totalLag: bigint;
  /** How long the stage-change topic's end has not moved. */
  stableForMs: number;
}

/**
 * Decides when the pipeline has caught up: every watched group has zero lag and the
 * stage-change topic has stopped growing for `quietMs`. The quiet period matters because
 * the processor publishes stage changes from its outbox after it commits its input, and
 * timers can still fire a few changes just after the last event.
 */
export class CatchUpTracker {
  private lastEnd: bigint | null = null;
  private endSince = 0;

  constructor(private readonly quietMs = 2000) {}

  observe(sample: PipelineSample): CatchUpVerdict {
    if (this.lastEnd === null || sample.stageChangeEnd !== this.lastEnd) {
      this.lastEnd = sample.stageChangeEnd;
      this.endSince = sample.atMs;
    }
    const totalLag = Object.values(sample.lags).reduce((sum, lag) => sum + lag, 0n);
    const stableForMs = sample.atMs - this.endSince;
    return { caughtUp: totalLag === 0n && stableForMs >= this.quietMs, totalLag, stableForMs };
  }
}
