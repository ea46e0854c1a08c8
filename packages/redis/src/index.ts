// How every process reaches Redis: one server or a Redis Cluster behind one client type
// (RedisClient), created by createRedis from the config; the commands whose meaning differs on a
// cluster (SCAN, deleting or reading many keys, SCRIPT LOAD, INFO) go through the helpers here, and
// writes others act on are followed by waitForReplicas (docs/reliability.md).
export { createRedis, clusterNodesOf, isCluster, type RedisClient, type RedisClientOptions, type RedisSettings } from "./client.ts";
export { getBuffers, keyServers, scanKeys, scanAllKeys, unlinkKeys } from "./keys.ts";
export { renameLegacyKeys } from "./legacy-keys.ts";
export { execPipeline, isTransientRedisError } from "./pipeline.ts";
export { checkReplicas, replicaWaitOf, ReplicasBehindError, waitForReplicas, type ReplicaWait } from "./replicas.ts";
