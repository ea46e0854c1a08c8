import { Backoff } from "@clm/backoff";
import { RegistryUnavailableError } from "./avro-serde.ts";

export interface RegistryWaitOptions {
  /**
   * kafkajs's heartbeat() of the batch: called while waiting, so the group keeps the partition
   * (kafkajs heartbeats only when asked). It rejects when the group rebalances; that error is
   * thrown on, and kafkajs rejoins and fetches the batch again from the uncommitted offset.
   */
  heartbeat: () => Promise<void>;
  /** false once the batch is no longer to be processed (the consumer stops, the partition was sought). */
  active: () => boolean;
  /** Each failed try, before the pause (log and count it). */
  onUnavailable: (error: RegistryUnavailableError, retryInMs: number) => void;
  /** After a try succeeded that followed failed ones. */
  onRecovered: (failures: number, waitedMs: number) => void;
  /**
   * First pause after a failed try (500 ms); doubles on every further one up to `maxBackoffMs` (5 s).
   * A failed try itself takes ~3 s more while the registry refuses connections: the client's own retries.
   */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How often to heartbeat while a try or a pause runs (kafkajs sends one only when its interval has passed). */
  heartbeatEveryMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `prepare` (an AvroSerde.prepare of a batch) until the schema registry answers, retrying in
 * place — inside the batch handler, with a backoff and heartbeats — while it throws
 * RegistryUnavailableError. Any other error is thrown at once. Resolves true once prepared, false
 * when `active()` turned false while waiting: the batch is then to be given back unprocessed.
 *
 * In place rather than thrown to kafkajs: kafkajs answers a throw from eachBatch by fetching the
 * batch again, 5 times in ~10 s, then crashes the consumer — it leaves the group (a rebalance that
 * pauses every member's partitions) and rejoins ~10 s later, and so on for as long as the registry
 * is away (measured on the local stack, kafkajs 2.2.4). Waiting here keeps the partition's order
 * (nothing later of it is fetched meanwhile), commits nothing, and keeps the group as it is.
 */
export async function prepareWhileRegistryAway(prepare: () => Promise<void>, options: RegistryWaitOptions): Promise<boolean> {
  const heartbeatEveryMs = options.heartbeatEveryMs ?? 1000;
  const backoff = new Backoff({ initialMs: options.initialBackoffMs ?? 500, maxMs: options.maxBackoffMs ?? 5000 });
  const started = performance.now();
  for (;;) {
    let pauseMs: number;
    try {
      await withHeartbeats(prepare(), options.heartbeat, heartbeatEveryMs);
      if (backoff.failures > 0) options.onRecovered(backoff.failures, Math.round(performance.now() - started));
      return true;
    } catch (error) {
      if (!(error instanceof RegistryUnavailableError)) throw error;
      pauseMs = backoff.next();
      options.onUnavailable(error, pauseMs);
    }
    const until = performance.now() + pauseMs;
    for (;;) {
      if (!options.active()) return false;
      await options.heartbeat();
      const left = until - performance.now();
      if (left <= 0) break;
      await sleep(Math.min(left, heartbeatEveryMs));
    }
    if (!options.active()) return false;
  }
}

/**
 * Awaits `work` while heartbeating every `everyMs` (a registry request can take seconds: the
 * client's own retries, up to its timeout). Nothing runs when `work` settles sooner — the usual
 * case, where every schema id is known. A heartbeat's error (a rebalance) wins over `work`'s outcome.
 */
async function withHeartbeats(work: Promise<void>, heartbeat: () => Promise<void>, everyMs: number): Promise<void> {
  const beats: { running: Promise<void> | null; failed: boolean; error: unknown } = { running: null, failed: false, error: null };
  const timer = setInterval(() => {
    beats.running ??= heartbeat()
      .catch((error: unknown) => {
        if (!beats.failed) Object.assign(beats, { failed: true, error });
      })
      .finally(() => {
        beats.running = null;
      });
  }, everyMs);
  const outcome = await work.then(
    () => ({ ok: true as const }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  clearInterval(timer);
  if (beats.running) await beats.running;
  if (beats.failed) throw beats.error;
  if (!outcome.ok) throw outcome.error;
}
