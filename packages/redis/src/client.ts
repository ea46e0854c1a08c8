import type { Config } from "@clm/config";
import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from "ioredis";
import { registerReplicaWait } from "./replicas.ts";

/**
 * A connection to the pipeline's Redis: one server (ioredis `Redis`) or a Redis Cluster (ioredis
 * `Cluster`). Both take the same commands; what means something else on a cluster — SCAN, a
 * command or script over keys of several hash slots, SCRIPT LOAD, INFO — goes through this
 * package's helpers, and every multi-key command keeps its keys in one slot (packages/state-store
 * redis-layout.ts, packages/destinations keys.ts).
 */
export type RedisClient = Redis | Cluster;

/** Whether the client is a Redis Cluster's. */
export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

export type RedisSettings = Pick<Config, "REDIS_URL" | "REDIS_CLUSTER" | "REDIS_WAIT_REPLICAS" | "REDIS_WAIT_TIMEOUT_MS">;

export interface RedisClientOptions {
  /**
   * How many reconnection attempts a command waits through before it fails (ioredis
   * `maxRetriesPerRequest`; null: forever, default 20). On a cluster the same patience, but at
   * least CLUSTER_PATIENCE_MS, becomes the retries of a command whose node is lost or whose slot is
   * moving (a failover): every FAILOVER_RETRY_MS, after refreshing the slot map.
   */
  maxRetriesPerRequest?: number | null;
  lazyConnect?: boolean;
  enableAutoPipelining?: boolean;
  /** false: a command sent while the connection is down fails at once instead of waiting for it. */
  enableOfflineQueue?: boolean;
  /** false: a lost connection stays lost (a test's "killed process"). */
  reconnect?: boolean;
}

/** Between tries of a command whose cluster node is lost, refused (CLUSTERDOWN, TRYAGAIN) or moving. */
export const FAILOVER_RETRY_MS = 200;
/**
 * The least time a command on a cluster keeps trying: a failover takes cluster-node-timeout (the
 * stack's: 3 s) to mark the master failed, then ~1 s for its replica's election, and clients see
 * CLUSTERDOWN in between; a command sent meanwhile is delayed, not failed.
 */
export const CLUSTER_PATIENCE_MS = 15_000;

/** What ioredis's default reconnection backoff (min(50 ms × attempt, 2 s)) waits over `retries` attempts. */
function reconnectPatienceMs(retries: number): number {
  let total = 0;
  for (let attempt = 1; attempt <= retries; attempt++) total += Math.min(attempt * 50, 2000);
  return total;
}

/** Host, port and credentials of each `redis://` / `rediss://` URL, as ioredis Cluster takes them. */
export function clusterNodesOf(urls: readonly string[]): { nodes: ClusterNode[]; redisOptions: RedisOptions } {
  const redisOptions: RedisOptions = {};
  const nodes = urls.map((text) => {
    const url = new URL(text);
    if (url.pathname.length > 1 && url.pathname !== "/0") throw new Error(`${text}: a Redis Cluster has only database 0`);
    if (url.username) redisOptions.username = decodeURIComponent(url.username);
    if (url.password) redisOptions.password = decodeURIComponent(url.password);
    if (url.protocol === "rediss:") redisOptions.tls = {};
    return { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: url.port === "" ? 6379 : Number(url.port) };
  });
  return { nodes, redisOptions };
}

/**
 * The one way the pipeline connects to Redis: with REDIS_CLUSTER=false a `Redis` to the one URL of
 * REDIS_URL, with true a `Cluster` started from its nodes (reads and writes on masters only, so a
 * read sees every write acknowledged before it). The client carries the config's WAIT settings
 * (REDIS_WAIT_REPLICAS, REDIS_WAIT_TIMEOUT_MS) for waitForReplicas.
 */
export function createRedis(settings: RedisSettings, options: RedisClientOptions = {}): RedisClient {
  const reconnect = options.reconnect ?? true;
  const common = {
    ...(options.lazyConnect !== undefined ? { lazyConnect: options.lazyConnect } : {}),
    ...(options.enableAutoPipelining !== undefined ? { enableAutoPipelining: options.enableAutoPipelining } : {}),
    ...(options.enableOfflineQueue !== undefined ? { enableOfflineQueue: options.enableOfflineQueue } : {}),
  };
  let client: RedisClient;
  if (!settings.REDIS_CLUSTER) {
    if (settings.REDIS_URL.length !== 1) throw new Error(`REDIS_URL lists ${settings.REDIS_URL.length} URLs: set REDIS_CLUSTER=true for a Redis Cluster`);
    client = new Redis(settings.REDIS_URL[0]!, {
      ...common,
      ...(options.maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest: options.maxRetriesPerRequest } : {}),
      ...(reconnect ? {} : { retryStrategy: () => null }),
    });
  } else {
    const { nodes, redisOptions } = clusterNodesOf(settings.REDIS_URL);
    const retries = options.maxRetriesPerRequest === undefined ? 20 : options.maxRetriesPerRequest;
    const patienceMs = retries === null ? Number.POSITIVE_INFINITY : Math.max(CLUSTER_PATIENCE_MS, reconnectPatienceMs(retries));
    const clusterOptions: ClusterOptions = {
      ...common,
      scaleReads: "master",
      // A lost master's commands wait for its replica to take over: each try refreshes the slot map
      // and goes where it says (ioredis counts MOVED, CLUSTERDOWN, TRYAGAIN and lost connections alike).
      retryDelayOnFailover: FAILOVER_RETRY_MS,
      retryDelayOnClusterDown: FAILOVER_RETRY_MS,
      retryDelayOnTryAgain: FAILOVER_RETRY_MS,
      maxRedirections: patienceMs === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : Math.ceil(patienceMs / FAILOVER_RETRY_MS),
      slotsRefreshTimeout: 2000,
      clusterRetryStrategy: reconnect ? (times) => Math.min(100 + times * 100, 2000) : () => null,
      redisOptions: { ...redisOptions, ...(options.maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest: options.maxRetriesPerRequest } : {}) },
    };
    client = new Cluster(nodes, clusterOptions);
  }
  registerReplicaWait(client, { replicas: settings.REDIS_WAIT_REPLICAS, timeoutMs: settings.REDIS_WAIT_TIMEOUT_MS });
  return client;
}
