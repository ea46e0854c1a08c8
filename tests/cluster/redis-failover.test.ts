import { appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CUSTOMER_EVENT_SCHEMA_TEXT, recordToCustomerEvent, type CustomerEventRecord } from "@clm/contracts";
import { decodeState, DEFAULT_LIFECYCLE_CONFIG, foldPartitionBatch, type BatchRecord, type CustomerEvent } from "@clm/core";
import { AvroSerde, createRegistry, receivedAtOf } from "@clm/kafka";
import { createRedis, isCluster, waitForReplicas, type RedisClient } from "@clm/redis";
import { RedisLayout, StateReader } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import type { Config } from "@clm/config";
import { clusterMember, type ClusterMember, type ClusterMemberName } from "@clm/testkit";
import type { Kafka, KafkaMessage } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdnowEvents } from "../integration/support/cdnow-events.ts";
import { envOf, startService } from "../integration/support/child-service.ts";
import { coreExpectation, mismatchedStates, publishedStageChanges } from "../integration/support/core-expectation.ts";
import { createTopics, deleteTopics, isolatedConfig, produceEvents, readTopic, testKafka, waitFor } from "../integration/support/pipeline.ts";
import { clusterNodes, keySlot, killNode, nodeConnection, nodeLaunch, restartNode, servesSlot, type ClusterNode, type NodeLaunch } from "./support/redis-cluster.ts";

/**
 * A Redis Cluster master fails under load: the processor (a real process) folds the whole CDNOW log
 * (69,659 purchases), produced in paced chunks, while the master holding some of its partitions is
 * killed with SIGKILL; its replica takes over, the killed node is started again (it rejoins as a
 * replica) and the load finishes. Twice: with the replica up to date, and with the replica cut off
 * from its master for a while before the kill, so that the failover really takes back writes (the
 * ones the processor could not get confirmed). With REDIS_WAIT_REPLICAS=1 nothing is lost either
 * way: every customer's state in Redis equals the pure core's fold, the stage-change topic holds
 * exactly the change ids the core predicts (a repeat is allowed, consumers drop it by id), and a
 * partition's applied offset and its states, read together at any moment, never disagree (sampled
 * in one transaction all along). Needs the cluster profile's env (REDIS_CLUSTER=true, REDIS_URL
 * listing the nodes, REDIS_WAIT_REPLICAS=1).
 */
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const ENTRY = "services/processor/src/main.ts";
const CHUNKS = 40;
const CHUNK_PAUSE_MS = 400;
/** The chunk after which the master is killed. */
const KILL_AFTER_CHUNK = 10;
/** How long the cluster runs without the killed node once the replica took over (WAIT falls short meanwhile). */
const DEGRADED_MS = 3000;
/** How long a replica is cut off from its master before the master is killed (the second run). */
const CUT_OFF_MS = 2000;
/** Customers per partition whose states are sampled with the partition's offset. */
const SAMPLED_CUSTOMERS = 30;
const SEED = Number(process.env.FAILOVER_TEST_SEED ?? Date.now() % 100_000);
let seed = SEED;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};

const base = isolatedConfig();
const ports = base.REDIS_URL.map((url) => Number(new URL(url).port));
let redis: RedisClient;
let events: CustomerEvent[];
/** Nodes started again by a run, to serve as masters again afterwards. */
const restarted = new Set<number>();

beforeAll(async () => {
  if (!base.REDIS_CLUSTER || base.REDIS_WAIT_REPLICAS < 1) throw new Error("run with the cluster profile's env: REDIS_CLUSTER=true, REDIS_WAIT_REPLICAS ≥ 1, REDIS_URL listing the cluster's nodes");
  redis = createRedis(base);
  // The killed node's connection errors are expected here; commands retry through them.
  redis.on("error", () => undefined);
  events = await cdnowEvents("master");
}, 120_000);

afterAll(async () => {
  for (const port of restarted) await failBack(port).catch(() => undefined);
  redis?.disconnect();
}, 120_000);

/** The restarted node serves as a master again, as at the cluster's creation (a manual failover: nothing runs then). */
async function failBack(port: number): Promise<void> {
  await waitFor(async () => {
    const self = (await clusterNodes(ports)).find((node) => node.port === port);
    if (self?.role === "master") return true;
    const node = nodeConnection(port);
    await node.connect();
    // Refused until the replica has synchronised; asked again until it is a master.
    await node.call("CLUSTER", "FAILOVER").catch(() => undefined);
    node.disconnect();
    return false;
  }, `the node on ${port} to be a master again`, 60_000, 500);
  restarted.delete(port);
}

/**
 * The stack's cluster-profile member running the node, when its pid file names that process: it is
 * killed and started through the stack (so `stack.sh down` stops it afterwards); a cluster started
 * by hand is killed and restarted with the node's own command line.
 */
function profileMember(launch: NodeLaunch): ClusterMember | null {
  const index = ports.indexOf(launch.port);
  if (index < 0) return null;
  const member = clusterMember(`redis-${index + 1}` as ClusterMemberName);
  return member.process()?.pid === launch.pid ? member : null;
}

/** The master serving `slot` now, as the cluster's nodes agree. */
async function masterOf(slot: number): Promise<ClusterNode | undefined> {
  return (await clusterNodes(ports)).find((node) => node.role === "master" && !node.failed && servesSlot(node, slot));
}

/** Per partition, one transaction's reading of the applied offset and some customers' packed states. */
interface Sample {
  partition: number;
  offset: string | null;
  states: (Buffer | null)[];
}

interface FailoverReport {
  line: string;
  /** The victim partition's applied offset on the killed master, and on its replica once it took over. */
  offsetOnKilled: string | null;
  offsetOnPromoted: string | null;
}

/**
 * The processor over the whole log while the master holding the most of its partitions is killed
 * after chunk KILL_AFTER_CHUNK (at a random moment of the next pause); with `cutReplicaOff`, the
 * master's replica is first cut off from it for CUT_OFF_MS (a wrong masterauth makes its
 * reconnections fail), so the writes of that time reach no replica. Checks everything against the
 * pure core and returns what it measured.
 */
async function failoverUnderLoad(config: Config, options: { cutReplicaOff: boolean }): Promise<FailoverReport> {
  const kafka: Kafka = testKafka(config);
  await createTopics(kafka, config);
  const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
  const store = new StateReader(redis, layout);
  // The steps taken, as they are taken, then the processor's log (the file is named on success).
  const logFile = join(tmpdir(), `redis-failover-${config.REDIS_KEY_PREFIX}.log`);
  const started = performance.now();
  const step = (text: string) => appendFileSync(logFile, `[test +${((performance.now() - started) / 1000).toFixed(1)} s] ${text}\n`);
  step("topics created");
  let processor: ReturnType<typeof startService> | null = null;
  try {
    const partitions = Array.from({ length: config.TOPIC_PARTITIONS }, (_, partition) => partition);
    const slots = new Map<number, number>();
    for (const partition of partitions) slots.set(partition, await keySlot(redis, layout.meta(partition)));
    // The master serving the most partitions (ties: the first listed), and its replica.
    const nodes = await clusterNodes(ports);
    const victim = nodes
      .filter((node) => node.role === "master" && !node.failed)
      .map((master) => ({ master, partitions: partitions.filter((partition) => servesSlot(master, slots.get(partition)!)) }))
      .sort((left, right) => right.partitions.length - left.partitions.length)[0]!;
    expect(victim.partitions.length).toBeGreaterThan(0);
    const replica = nodes.find((node) => node.role === "replica" && node.masterId === victim.master.id && !node.failed)!;
    expect(replica).toBeDefined();
    const launch = await nodeLaunch(victim.master.port);
    const member = profileMember(launch);
    step(`victim ${victim.master.port} (partitions ${victim.partitions.join(", ")}), its replica ${replica.port}`);
    // The partition whose applied offset is compared on the killed master and the promoted replica
    // (with the replica cut off: one the master wrote after the cut).
    let watched = victim.partitions[0]!;

    // Customers sampled per partition: those with the most events (their states change most often).
    const { Partitioners } = await import("kafkajs");
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = partitions.map((partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    const eventCounts = new Map<string, { partition: number; count: number }>();
    for (const event of events) {
      const known = eventCounts.get(event.customerId);
      if (known) known.count++;
      else eventCounts.set(event.customerId, { partition: partitioner({ topic: config.TOPIC_EVENTS, partitionMetadata, message: { key: event.customerId, value: null } }), count: 1 });
    }
    const sampled = new Map(partitions.map((partition) => [partition, [...eventCounts].filter(([, entry]) => entry.partition === partition).sort((left, right) => right[1].count - left[1].count).slice(0, SAMPLED_CUSTOMERS).map(([customerId]) => customerId)]));

    processor = startService(ENTRY, envOf(config));
    const running = JSON.parse(await processor.waitForLog("processor running", 120_000)) as { port: number };
    step("processor running");

    // Offsets and states read together, in one transaction per partition, all along.
    const samples: Sample[] = [];
    let sampling = true;
    let failedSamples = 0;
    const sampler = (async () => {
      while (sampling) {
        for (const partition of partitions) {
          const customers = sampled.get(partition)!;
          try {
            const replies = (await redis.multi().hget(layout.meta(partition), "offset").mgetBuffer(customers.map((id) => layout.customer(partition, id))).exec()) ?? [];
            for (const [error] of replies) if (error) throw error;
            samples.push({ partition, offset: replies[0]![1] as string | null, states: replies[1]![1] as (Buffer | null)[] });
          } catch {
            failedSamples++;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();

    const chunkSize = Math.ceil(events.length / CHUNKS);
    let killedAt = 0;
    let failoverMs = 0;
    let resumedMs = 0;
    let offsetOnKilled: string | null = null;
    let offsetOnPromoted: string | null = null;
    let degraded: Promise<void> = Promise.resolve();
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      await produceEvents(kafka, config, events.slice(chunk * chunkSize, (chunk + 1) * chunkSize));
      await new Promise((resolve) => setTimeout(resolve, CHUNK_PAUSE_MS));
      if (chunk !== KILL_AFTER_CHUNK) continue;
      step(`chunk ${chunk} produced`);
      if (options.cutReplicaOff) {
        const cut = nodeConnection(replica.port);
        await cut.connect();
        await cut.config("SET", "masterauth", "not-the-masters-password");
        await cut.call("CLIENT", "KILL", "TYPE", "master");
        cut.disconnect();
        await waitFor(async () => {
          const master = nodeConnection(launch.port);
          await master.connect();
          const info = await master.info("replication");
          master.disconnect();
          return /^connected_slaves:0\s*$/m.test(info);
        }, "the replica to be cut off from its master", 10_000, 50);
        step(`replica ${replica.port} cut off`);
        // Chunks go on meanwhile: the commits of the victim's partitions reach no replica (they stay
        // unconfirmed), until the master holds a partition further than its replica does.
        const offsets = async (port: number) => {
          const node = nodeConnection(port);
          await node.connect();
          // A replica answers reads of its master's slots once asked to (READONLY).
          if (port === replica.port) await node.call("READONLY");
          const found = await Promise.all(victim.partitions.map((partition) => node.hget(layout.meta(partition), "offset")));
          node.disconnect();
          return found;
        };
        const cutAt = performance.now();
        const behind = await offsets(replica.port);
        for (let ahead = -1; ahead < 0 || performance.now() - cutAt < CUT_OFF_MS; ) {
          chunk++;
          await produceEvents(kafka, config, events.slice(chunk * chunkSize, (chunk + 1) * chunkSize));
          await new Promise((resolve) => setTimeout(resolve, CHUNK_PAUSE_MS));
          const onMaster = await offsets(launch.port);
          ahead = onMaster.findIndex((offset, index) => offset !== behind[index]);
          if (ahead >= 0) watched = victim.partitions[ahead]!;
          if (chunk >= CHUNKS - 5) throw new Error("the master took no write of the victim's partitions while its replica was cut off");
        }
      }
      await new Promise((resolve) => setTimeout(resolve, random() * CHUNK_PAUSE_MS));
      const killed = nodeConnection(launch.port);
      await killed.connect();
      offsetOnKilled = await killed.hget(layout.meta(watched), "offset");
      killed.disconnect();
      killedAt = performance.now();
      await (member ? member.kill9() : killNode(launch));
      step(`master ${launch.port} killed (partition ${watched} at offset ${offsetOnKilled} there)`);
      degraded = (async () => {
        // The replica takes over: the slot's master is another node.
        await waitFor(async () => {
          const master = await masterOf(slots.get(watched)!);
          return master !== undefined && master.port !== launch.port;
        }, "a replica to take over the killed master's slots", 60_000, 50);
        failoverMs = performance.now() - killedAt;
        step("replica took over");
        const promoted = nodeConnection(replica.port);
        await promoted.connect();
        const [offset, seq] = await promoted.hmget(layout.meta(watched), "offset", "seq");
        offsetOnPromoted = offset ?? null;
        if (options.cutReplicaOff) await promoted.config("SET", "masterauth", "");
        promoted.disconnect();
        // The processor writes the partition again once its client follows the new master.
        await waitFor(async () => ((await store.loadMeta(watched).catch(() => null))?.seq ?? 0) > Number(seq ?? 0), "the processor to write the failed-over partition again", 120_000, 50);
        resumedMs = performance.now() - killedAt;
        step(`processor writes partition ${watched} again (it was at offset ${offsetOnPromoted} on the promoted replica)`);
        await new Promise((resolve) => setTimeout(resolve, DEGRADED_MS));
        await (member ? member.start() : restartNode(launch));
        restarted.add(launch.port);
        step(`node ${launch.port} started again`);
      })();
    }
    await degraded;
    await waitFor(async () => (await clusterNodes(ports)).some((node) => node.port === launch.port && node.role === "replica" && !node.failed), "the killed node to rejoin as a replica", 60_000);
    step("killed node rejoined as a replica; load produced");

    const byPartition = await readTopic(kafka, config.TOPIC_EVENTS);
    expect([...byPartition.values()].reduce((sum, messages) => sum + messages.length, 0)).toBe(events.length);
    await waitFor(async () => {
      for (const [partition, messages] of byPartition) {
        const end = (BigInt(messages.at(-1)!.offset) + 1n).toString();
        if ((await store.loadMeta(partition)).offset !== end || (await store.outboxLength(partition)) > 0) return false;
      }
      return true;
    }, "the processor to apply every record and drain every outbox", 300_000);
    step("every record applied, every outbox drained");
    sampling = false;
    await sampler;

    // The processor rode the failover out: still running, healthy, and it counted what it went through.
    expect(processor.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${running.port}/healthz`)).status).toBe(200);
    const exposition = await (await fetch(`http://127.0.0.1:${running.port}/metrics`)).text();
    const metric = (pattern: RegExp) => [...exposition.matchAll(pattern)].reduce((sum, match) => sum + Number(match[1]), 0);
    const shortfalls = metric(/^clm_processor_redis_replica_shortfalls_total\{[^}]*\} (\d+)/gm);
    const redelivered = metric(/^clm_processor_events_total\{outcome="redelivered"[^}]*\} (\d+)/gm);
    const fenced = metric(/^clm_processor_fenced_writes_total\{[^}]*\} (\d+)/gm);
    const changedUnder = metric(/^clm_processor_redis_state_changed_total\{[^}]*\} (\d+)/gm);
    processor.child.kill("SIGTERM");
    expect(await processor.exited).toBe(0);

    // Every customer's state is the core's fold of its partition.
    const expected = await coreExpectation(kafka, config, lifecycle);
    expect(expected.states.size).toBe(23_570);
    expect(await mismatchedStates(store, expected.states)).toEqual([]);

    // Every predicted change id was published, and no other; repeats are counted.
    const { ids: publishedIds, publishes: publishedCount } = await publishedStageChanges(kafka, config);
    expect([...expected.transitionIds].filter((id) => !publishedIds.has(id))).toEqual([]);
    expect([...publishedIds].filter((id) => !expected.transitionIds.has(id))).toEqual([]);

    // Offsets and states never ran ahead of each other: each sample equals the core's fold of the
    // partition's records before the sampled offset, for every sampled customer.
    const disagreements: string[] = [];
    const eventSerde = new AvroSerde<CustomerEventRecord>(createRegistry(config.SCHEMA_REGISTRY_URL), `${config.TOPIC_EVENTS}-value`, CUSTOMER_EVENT_SCHEMA_TEXT);
    for (const partition of partitions) {
      const messages: KafkaMessage[] = byPartition.get(partition)!;
      await eventSerde.prepare(messages.map((message) => message.value));
      const records: BatchRecord[] = messages.map((message) => ({ offset: message.offset, event: recordToCustomerEvent(eventSerde.decode(message.value)), receivedAt: receivedAtOf(message) }));
      const folds = new Map<number, ReturnType<typeof foldPartitionBatch>>();
      for (const sample of samples.filter((entry) => entry.partition === partition)) {
        const upTo = Number(sample.offset ?? "0");
        let fold = folds.get(upTo);
        if (fold === undefined) folds.set(upTo, (fold = foldPartitionBatch(new Map(), records.slice(0, upTo), { watermark: null, latenessMs: config.EVENT_TIME_LATENESS_MS }, lifecycle)));
        sampled.get(partition)!.forEach((customerId, index) => {
          const packed = sample.states[index];
          const actual = packed ? JSON.stringify(decodeState(customerId, packed)) : "none";
          const wanted = fold.changed.get(customerId);
          if (actual !== (wanted ? JSON.stringify(wanted) : "none")) disagreements.push(`partition ${partition} at offset ${upTo}: ${customerId}`);
        });
      }
    }
    expect(samples.length).toBeGreaterThan(partitions.length * 20);
    expect(disagreements).toEqual([]);

    return {
      offsetOnKilled,
      offsetOnPromoted,
      line:
        `killed ${victim.master.port} (partitions ${victim.partitions.join(", ")}${options.cutReplicaOff ? `, its replica ${replica.port} cut off ${CUT_OFF_MS} ms before` : ""}); ` +
        `partition ${watched}'s applied offset ${offsetOnKilled} on the killed master, ${offsetOnPromoted} on the promoted replica; ` +
        `replica master after ${(failoverMs / 1000).toFixed(1)} s, processor writing the partition again after ${(resumedMs / 1000).toFixed(1)} s; ` +
        `${shortfalls} WAIT shortfalls, ${fenced} fenced writes, ${changedUnder} states found changed under the processor, ${redelivered} records read again; ` +
        `${publishedCount - publishedIds.size} duplicate publishes of ${publishedIds.size} changes; ${samples.length} samples (${failedSamples} failed); log: ${logFile}`,
    };
  } finally {
    if (processor !== null && processor.child.exitCode === null) {
      processor.child.kill("SIGKILL");
      await processor.exited;
    }
    appendFileSync(logFile, processor?.output() ?? "");
    for (const port of [...restarted]) await failBack(port).catch(() => undefined);
    // The run's keys and topics go; the client stays connected for the next run (tearDownRun would close it).
    await wipePrefix(redis, layout);
    await deleteTopics(kafka, config);
  }
}

describe(`Redis Cluster failover under load (REDIS_WAIT_REPLICAS; seed ${SEED})`, () => {
  it("sends a WAIT to the node holding the key it names, and its replica answers", async () => {
    if (!isCluster(redis)) throw new Error("not a cluster client");
    for (const master of (await clusterNodes(ports)).filter((node) => node.role === "master" && node.slots.length > 0)) {
      // A key of a slot this master serves: its hash tag is a number tried until one lands there.
      let key = "";
      for (let tag = 0; key === ""; tag++) if (servesSlot(master, await keySlot(redis, `{w${tag}}`))) key = `${base.REDIS_KEY_PREFIX}:{w${tag}}:probe`;
      const [, [, info]] = ((await redis.pipeline().exists(key).call("INFO", "server").exec()) ?? []) as [unknown, [unknown, string]];
      expect(Number(/^tcp_port:(\d+)/m.exec(info)?.[1]), `the pipeline led by ${key} went to its master`).toBe(master.port);
      // And the master's replica acknowledges a write there.
      await redis.set(key, "written");
      await waitForReplicas(redis, key);
      await redis.del(key);
    }
  });

  it("loses nothing when a master holding partitions is killed: states, change ids and offsets equal the pure core's", async () => {
    const report = await failoverUnderLoad(isolatedConfig({ PROCESSOR_HTTP_PORT: "0", LOG_LEVEL: "info", PROCESSOR_MAX_CUSTOMERS_PER_WRITE: "2000" }), { cutReplicaOff: false });
    console.log(`redis failover: ${report.line}`);
  }, 600_000);

  it("loses nothing when the killed master had writes its replica never got: they are taken back and applied again", async () => {
    const report = await failoverUnderLoad(isolatedConfig({ PROCESSOR_HTTP_PORT: "0", LOG_LEVEL: "info", PROCESSOR_MAX_CUSTOMERS_PER_WRITE: "2000" }), { cutReplicaOff: true });
    // The failover did take writes back: the promoted replica's applied offset is behind the killed master's.
    expect(BigInt(report.offsetOnPromoted ?? "0")).toBeLessThan(BigInt(report.offsetOnKilled ?? "0"));
    console.log(`redis failover, replica behind: ${report.line}`);
  }, 600_000);
});
