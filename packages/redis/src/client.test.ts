import { Cluster, Redis, type ClusterOptions } from "ioredis";
import { describe, expect, it } from "vitest";
import { clusterNodesOf, createRedis, isCluster } from "./client.ts";
import { isTransientRedisError } from "./pipeline.ts";
import { checkReplicas, ReplicasBehindError, replicaWaitOf } from "./replicas.ts";

const settings = { REDIS_URL: ["redis://127.0.0.1:1"], REDIS_CLUSTER: false, REDIS_WAIT_REPLICAS: 0, REDIS_WAIT_TIMEOUT_MS: 2000 };

describe("createRedis", () => {
  it("makes a Redis for one URL and a Cluster for REDIS_CLUSTER, carrying the WAIT settings", () => {
    const single = createRedis(settings, { lazyConnect: true });
    const cluster = createRedis({ ...settings, REDIS_URL: ["redis://127.0.0.1:1", "redis://127.0.0.1:2"], REDIS_CLUSTER: true, REDIS_WAIT_REPLICAS: 1 }, { lazyConnect: true });
    try {
      expect(single).toBeInstanceOf(Redis);
      expect(isCluster(single)).toBe(false);
      expect(cluster).toBeInstanceOf(Cluster);
      expect(isCluster(cluster)).toBe(true);
      expect(replicaWaitOf(single)).toBeNull();
      expect(replicaWaitOf(cluster)).toEqual({ replicas: 1, timeoutMs: 2000 });
      // Reads and writes on masters; a lost master's commands ride out a failover of several seconds.
      expect(cluster.options).toMatchObject({ scaleReads: "master", retryDelayOnFailover: 200, retryDelayOnClusterDown: 200 });
      const options = cluster.options as ClusterOptions;
      expect(options.maxRedirections! * options.retryDelayOnFailover!).toBeGreaterThanOrEqual(15_000);
    } finally {
      single.disconnect();
      cluster.disconnect();
    }
  });

  it("refuses several URLs without REDIS_CLUSTER", () => {
    expect(() => createRedis({ ...settings, REDIS_URL: ["redis://a:1", "redis://b:2"] }, { lazyConnect: true })).toThrow(/REDIS_CLUSTER=true/);
  });

  it("waits forever on a cluster when a command may wait forever", () => {
    const cluster = createRedis({ ...settings, REDIS_CLUSTER: true }, { lazyConnect: true, maxRetriesPerRequest: null });
    try {
      expect((cluster.options as ClusterOptions).maxRedirections).toBe(Number.POSITIVE_INFINITY);
    } finally {
      cluster.disconnect();
    }
  });
});

describe("clusterNodesOf", () => {
  it("takes hosts, ports and credentials from the URLs", () => {
    expect(clusterNodesOf(["redis://user:p%40ss@10.0.0.1:7000", "redis://[::1]:7001", "redis://cache.local"])).toEqual({
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "::1", port: 7001 },
        { host: "cache.local", port: 6379 },
      ],
      redisOptions: { username: "user", password: "p@ss" },
    });
    expect(clusterNodesOf(["rediss://127.0.0.1:7000"]).redisOptions).toEqual({ tls: {} });
    expect(() => clusterNodesOf(["redis://127.0.0.1:7000/2"])).toThrow(/only database 0/);
  });
});

describe("replica waits", () => {
  it("count fewer acknowledgements than asked as a failure to retry", () => {
    const wait = { replicas: 2, timeoutMs: 500 };
    expect(() => checkReplicas(wait, "k", 2)).not.toThrow();
    expect(() => checkReplicas(wait, "k", 1)).toThrow(ReplicasBehindError);
    expect(() => checkReplicas(wait, "k", null)).toThrow(/0 of 2 Redis replicas acknowledged the writes to k within 500 ms/);
  });

  it("retry pipelines only on a node away or a slot moving", () => {
    for (const message of ["Connection is closed.", "Command aborted due to connection close", "CLUSTERDOWN The cluster is down", "MOVED 3999 127.0.0.1:6381", "TRYAGAIN", "connect ECONNREFUSED 127.0.0.1:7000", "READONLY You can't write against a read only replica."]) {
      expect(isTransientRedisError(new Error(message)), message).toBe(true);
    }
    expect(isTransientRedisError(new Error("WRONGTYPE Operation against a key holding the wrong kind of value"))).toBe(false);
    expect(isTransientRedisError("Connection is closed.")).toBe(false);
  });
});
