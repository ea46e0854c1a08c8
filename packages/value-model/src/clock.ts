import type { Config } from "@clm/config";
import { RedisLayout, StateReader } from "@clm/state-store";
import type { RedisClient } from "@clm/redis";

/**
 * The pipeline's clock, for a fit without an explicit calibration end: in `event` clock mode
 * (replays) time is what the processor's partitions have reached — the largest event-time
 * watermark over the partitions (`<prefix>:{pN}:meta` field `watermark`, written by the processor
 * with each batch); in `wall` mode it is now. Null in event mode before any partition has a watermark.
 */
export async function pipelineClock(options: {
  redis: RedisClient;
  config: Pick<Config, "CLOCK_MODE" | "REDIS_KEY_PREFIX">;
  partitions: number;
  now: () => number;
}): Promise<number | null> {
  if (options.config.CLOCK_MODE === "wall") return options.now();
  const reader = new StateReader(options.redis, new RedisLayout(options.config.REDIS_KEY_PREFIX));
  let latest: number | null = null;
  for (let partition = 0; partition < options.partitions; partition++) {
    const { watermark } = await reader.loadMeta(partition);
    if (watermark !== null && (latest === null || watermark > latest)) latest = watermark;
  }
  return latest;
}

/**
 * The calibration end a clock gives: the UTC day of (clock − 1 ms) — the last day that has fully
 * or partly happened before the clock, so a clock at midnight closes the day before.
 */
export function calibrationEndAt(clock: number): string {
  return new Date(clock - 1).toISOString().slice(0, 10);
}
