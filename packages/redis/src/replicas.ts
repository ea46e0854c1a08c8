import type { Cluster, Redis } from "ioredis";
import { execPipeline } from "./pipeline.ts";

/**
 * Redis replicates asynchronously: a write acknowledged by a master can be lost if the master fails
 * before a replica has it, and the replica takes over without it. Where a write is followed by an
 * action others see (publishing to Kafka, committing Kafka offsets, answering an API call), WAIT
 * for replicas first (docs/reliability.md). WAIT covers every write sent before it on the same
 * connection, so it goes to the node that holds the written key, on the client's connection there.
 */
export interface ReplicaWait {
  /** Replicas that must acknowledge (REDIS_WAIT_REPLICAS, ≥ 1 here: 0 waits for nothing). */
  replicas: number;
  /** How long one WAIT waits (REDIS_WAIT_TIMEOUT_MS). */
  timeoutMs: number;
}

const waits = new WeakMap<Redis | Cluster, ReplicaWait>();

/** Called by createRedis: the client's WAIT settings (none when replicas is 0). */
export function registerReplicaWait(redis: Redis | Cluster, wait: ReplicaWait): void {
  if (wait.replicas > 0) waits.set(redis, wait);
}

/** The client's WAIT settings; null when writes are not waited for (REDIS_WAIT_REPLICAS=0, or a client not made by createRedis). */
export function replicaWaitOf(redis: Redis | Cluster): ReplicaWait | null {
  return waits.get(redis) ?? null;
}

/** Fewer replicas acknowledged a write than asked: not yet safe to act on; retried, never dropped. */
export class ReplicasBehindError extends Error {
  readonly code = "REDIS_REPLICAS_BEHIND";
  constructor(
    readonly key: string,
    readonly wanted: number,
    readonly acknowledged: number,
    readonly timeoutMs: number,
  ) {
    super(`${acknowledged} of ${wanted} Redis replicas acknowledged the writes to ${key} within ${timeoutMs} ms; retried`);
    this.name = "ReplicasBehindError";
  }
}

/** Throws ReplicasBehindError when `acknowledged` (a WAIT's reply) is short of the client's setting. */
export function checkReplicas(wait: ReplicaWait, key: string, acknowledged: unknown): void {
  const count = Number(acknowledged);
  if (!(count >= wait.replicas)) throw new ReplicasBehindError(key, wait.replicas, Number.isFinite(count) ? count : 0, wait.timeoutMs);
}

/**
 * Waits until REDIS_WAIT_REPLICAS replicas have every write this client sent to the node holding
 * `key` (nothing to do when it is 0). On a cluster a pipeline goes to one node: the one its first
 * keyed command names, so EXISTS key leads and WAIT follows it there. Throws ReplicasBehindError
 * when fewer acknowledge within REDIS_WAIT_TIMEOUT_MS.
 */
export async function waitForReplicas(redis: Redis | Cluster, key: string): Promise<void> {
  const wait = replicaWaitOf(redis);
  if (wait === null) return;
  const [, acknowledged] = await execPipeline(() => redis.pipeline().exists(key).call("WAIT", wait.replicas, wait.timeoutMs));
  checkReplicas(wait, key, acknowledged);
}
