import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES } from "@clm/config";

/**
 * docker-compose.yml's cluster profile, checked without Docker (no engine here): its servers have the
 * shape of the no-Docker cluster profile (infra/stack-cluster.sh), and the pipeline's services on it
 * get the variables of that profile's env file. Compose merge keys (`<<`) are resolved as compose does.
 */
const read = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), "utf8");

interface Service {
  image?: string;
  profiles?: string[];
  ports?: string[];
  command?: string | string[];
  environment?: Record<string, string | number>;
  depends_on?: string[] | Record<string, { condition: string }>;
  volumes?: string[];
}
const compose = parseYaml(read("../docker-compose.yml"), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const names = Object.keys(services);
const clusterNames = names.filter((name) => services[name]!.profiles?.includes("cluster"));
/** A service's dependencies, from either form compose takes (a list of names, or names with conditions). */
const dependencies = (name: string): string[] => {
  const dependsOn = services[name]!.depends_on ?? [];
  return Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn);
};
const env = (name: string) => Object.fromEntries(Object.entries(services[name]!.environment ?? {}).map(([key, value]) => [key, String(value)]));

/** The variables the cluster profile's env file sets (docs: infra/README.md), besides the ClickHouse credentials. */
const CLUSTER_ENV_VARIABLES = [
  "KAFKA_BROKERS",
  "KAFKA_REPLICATION_FACTOR",
  "KAFKA_MIN_INSYNC_REPLICAS",
  "SCHEMA_REGISTRY_URL",
  "REDIS_URL",
  "REDIS_CLUSTER",
  "REDIS_WAIT_REPLICAS",
  "CLICKHOUSE_URL",
  "CLICKHOUSE_CLUSTER",
  "CLICKHOUSE_SHARD_URLS",
  "CLICKHOUSE_USER",
  "CLICKHOUSE_PASSWORD",
  "CLICKHOUSE_DATABASE",
];

describe("docker-compose.yml's cluster profile", () => {
  it("is its own set of services, cluster-*, every one in the profile and depending only on its own", () => {
    expect(clusterNames.length).toBeGreaterThan(0);
    expect(clusterNames).toEqual(names.filter((name) => name.startsWith("cluster-")));
    for (const name of names) {
      for (const dependency of dependencies(name)) {
        expect(names, `${name} depends on ${dependency}`).toContain(dependency);
        // A cluster service never starts a single-node server, nor the other way round.
        expect(clusterNames.includes(dependency), `${name} -> ${dependency}`).toBe(clusterNames.includes(name));
      }
    }
  });

  it("publishes each host port once, on 127.0.0.1 only, so it runs beside the single-node servers", () => {
    const published = names.flatMap((name) => (services[name]!.ports ?? []).map((port) => ({ name, port })));
    for (const { port } of published) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    const hostPorts = published.map(({ port }) => port.split(":")[1]);
    expect(hostPorts.length).toBe(new Set(hostPorts).size);
  });

  it("runs 3 KRaft brokers of one static quorum with RF 3, min.insync.replicas 2 and no unclean election, on 29092/29094/29096", () => {
    const brokers = ["cluster-kafka-1", "cluster-kafka-2", "cluster-kafka-3"];
    expect(clusterNames.filter((name) => services[name]!.image?.startsWith("apache/kafka"))).toEqual(brokers);
    const ids = new Set<string>();
    for (const [index, name] of brokers.entries()) {
      const vars = env(name);
      const hostPort = 29092 + 2 * index;
      expect(vars).toMatchObject({
        KAFKA_NODE_ID: String(index + 1),
        KAFKA_PROCESS_ROLES: "broker,controller",
        KAFKA_CONTROLLER_QUORUM_VOTERS: "1@cluster-kafka-1:9093,2@cluster-kafka-2:9093,3@cluster-kafka-3:9093",
        KAFKA_DEFAULT_REPLICATION_FACTOR: "3",
        KAFKA_MIN_INSYNC_REPLICAS: "2",
        KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE: "false",
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "3",
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "3",
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "2",
        KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
        KAFKA_ADVERTISED_LISTENERS: `DOCKER://${name}:9092,HOST://localhost:${hostPort}`,
      });
      expect(services[name]!.ports).toEqual([`127.0.0.1:${hostPort}:${hostPort}`]);
      ids.add(vars.CLUSTER_ID!);
    }
    expect(ids.size).toBe(1);
  });

  it("runs a Redis Cluster of 6 nodes (AOF, 3 s node timeout) that a one-shot container creates with a replica per master", () => {
    const nodes = [1, 2, 3, 4, 5, 6].map((n) => `cluster-redis-${n}`);
    for (const [index, name] of nodes.entries()) {
      const port = String(27001 + index);
      expect(env(name)).toEqual({ REDIS_HOST: name, REDIS_PORT: port });
      expect(services[name]!.ports).toEqual([`127.0.0.1:${port}:${port}`]);
      const command = [services[name]!.command].flat().join(" ");
      for (const option of ["--cluster-enabled yes", "--cluster-node-timeout 3000", "--appendonly yes", "--appendfsync everysec", "--port $$REDIS_PORT", "--cluster-announce-hostname $$REDIS_HOST"]) {
        expect(command).toContain(option);
      }
      expect(services[name]!.volumes).toEqual([`${name}-data:/data`]);
    }
    const create = services["cluster-redis-create"]!;
    expect(dependencies("cluster-redis-create").sort()).toEqual(nodes);
    expect([create.command].flat().join(" ")).toMatch(/redis-cli --cluster create \$\$nodes --cluster-replicas 1 --cluster-yes/);
    // Idempotent: a formed cluster (nodes.conf in the volumes) is left as it is.
    expect([create.command].flat().join(" ")).toContain("cluster_known_nodes:6");
  });

  it("runs 2 ClickHouse shards, each with the remote_servers cluster clm and its own shard macro", () => {
    const shards = ["cluster-clickhouse-1", "cluster-clickhouse-2"];
    for (const [index, name] of shards.entries()) {
      expect(services[name]!.ports).toEqual([`127.0.0.1:${28123 + index}:8123`, `127.0.0.1:${29000 + index}:9000`]);
      expect(services[name]!.volumes).toContain("./infra/clickhouse/cluster/remote-servers.xml:/etc/clickhouse-server/config.d/clm-remote-servers.xml:ro");
      expect(services[name]!.volumes).toContain(`./infra/clickhouse/cluster/macros-shard-${index + 1}.xml:/etc/clickhouse-server/config.d/clm-macros.xml:ro`);
      expect(read(`clickhouse/cluster/macros-shard-${index + 1}.xml`)).toMatch(new RegExp(`<macros>\\s*<shard>${index + 1}</shard>\\s*</macros>`));
      expect(env(name).CLICKHOUSE_DB).toBe("clm");
    }
    const remote = read("clickhouse/cluster/remote-servers.xml");
    const replicas = [...remote.matchAll(/<shard>\s*<replica>\s*<host>([^<]+)<\/host>\s*<port>(\d+)<\/port>\s*<user>default<\/user>\s*<password from_env="CLICKHOUSE_PASSWORD"\/>/g)];
    expect(remote).toMatch(/<remote_servers>\s*<clm>/);
    expect(replicas.map((match) => `${match[1]}:${match[2]}`)).toEqual(["cluster-clickhouse-1:9000", "cluster-clickhouse-2:9000"]);
  });

  it("points the pipeline's services at the cluster with the cluster env file's variables", () => {
    const pipeline = ["cluster-ingest", "cluster-processor", "cluster-sink", "cluster-modeler", "cluster-console", "cluster-webhooks"];
    expect(clusterNames.filter((name) => services[name]!.image?.startsWith("clm-")).sort()).toEqual([...pipeline].sort());
    for (const name of pipeline) {
      const vars = env(name);
      for (const variable of CLUSTER_ENV_VARIABLES) expect(vars, `${name} ${variable}`).toHaveProperty(variable);
      expect(vars).toMatchObject({
        KAFKA_BROKERS: "cluster-kafka-1:9092,cluster-kafka-2:9092,cluster-kafka-3:9092",
        KAFKA_REPLICATION_FACTOR: "3",
        KAFKA_MIN_INSYNC_REPLICAS: "2",
        SCHEMA_REGISTRY_URL: "http://cluster-schema-registry:8081",
        REDIS_URL: [1, 2, 3, 4, 5, 6].map((n) => `redis://cluster-redis-${n}:2700${n}`).join(","),
        REDIS_CLUSTER: "true",
        REDIS_WAIT_REPLICAS: "1",
        CLICKHOUSE_URL: "http://cluster-clickhouse-1:8123",
        CLICKHOUSE_CLUSTER: "clm",
        CLICKHOUSE_SHARD_URLS: "http://cluster-clickhouse-1:8123,http://cluster-clickhouse-2:8123",
      });
      // Every variable set is one the configuration reads (or one of the cluster's own).
      const known = new Set<string>([...CONFIG_VARIABLES, ...CLUSTER_ENV_VARIABLES]);
      for (const variable of Object.keys(vars)) expect(known, `${name} sets ${variable}`).toContain(variable);
    }
  });
});
