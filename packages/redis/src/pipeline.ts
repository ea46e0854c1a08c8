import type { ChainableCommander } from "ioredis";
import { CLUSTER_PATIENCE_MS, FAILOVER_RETRY_MS } from "./client.ts";

// Replies that say only that a node is away or a slot is moving (a failover, a restart): the same
// commands succeed once the client follows the cluster again.
const TRANSIENT = /^(Connection is closed|Command aborted due to connection close|CLUSTERDOWN|MOVED|ASK|TRYAGAIN|LOADING|READONLY|Too many Cluster redirections|Cluster isn't ready)|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT/;

/** Whether an error says only that Redis was away or moving (retried), not that a command is wrong. */
export function isTransientRedisError(error: unknown): boolean {
  return error instanceof Error && TRANSIENT.test(error.message);
}

/**
 * Runs a pipeline — built anew for each try — until it answers, through a failover. A cluster
 * client retries a pipeline by itself only when all its commands read, so one that writes fails at
 * once while its node is lost; this tries again every FAILOVER_RETRY_MS for `patienceMs`, only on
 * errors of a node away or a slot moving. Only for pipelines that may run twice (reads, a probe
 * counter, WAIT). Returns each command's reply in order; a command's error is thrown.
 */
export async function execPipeline(build: () => ChainableCommander, patienceMs = CLUSTER_PATIENCE_MS): Promise<unknown[]> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    try {
      const replies = (await build().exec()) ?? [];
      for (const [error] of replies) if (error) throw error;
      return replies.map(([, reply]) => reply);
    } catch (error) {
      if (Date.now() >= deadline || !isTransientRedisError(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, FAILOVER_RETRY_MS));
    }
  }
}
