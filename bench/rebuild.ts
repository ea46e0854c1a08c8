/**
 * Rebuild of the Redis state from the input topic, on the local stack:
 *   npm run bench -- rebuild [--events 1000000] [--seed 42]
 * Produces a synthetic population (deterministic) to a fresh topic, measures the raw kafkajs
 * consume-only rate on it, then the processor's `rebuild` command as its own process (as operators
 * run it: from offset 0 into an empty prefix, publishing nothing) until every partition is applied.
 * The time is the one the command reports (around the rebuild itself, Node's start not included);
 * CPU and peak RSS are the process's, from /proc. Goal: 1M events in ≤ 60 s.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { syntheticEventStream } from "@clm/datasets";
import { RedisLayout } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import { createTopics, deleteTopics, envOf, isolatedConfig, produceEvents, startService, testKafka } from "@clm/testkit";
import { createRedis } from "@clm/redis";
import { machine, rawConsumeRate, resourcesUntilExit } from "./support.ts";

const { values } = parseArgs({ options: { events: { type: "string", default: "1000000" }, seed: { type: "string", default: "42" } } });
const total = Number(values.events);
const config = isolatedConfig({ TOPIC_PARTITIONS: "6" });
const kafka = testKafka(config);
const redis = createRedis(config);
await createTopics(kafka, config);
let started = performance.now();
await produceEvents(kafka, config, syntheticEventStream({ seed: Number(values.seed), events: total }));
console.log(`generated and produced ${total.toLocaleString("en-US")} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
const raw = await rawConsumeRate(kafka, config.TOPIC_EVENTS, total);
console.log(`raw kafkajs consume-only: ${Math.round(raw.eventsPerSecond).toLocaleString("en-US")} events/s`);

const keyPrefix = `${config.REDIS_KEY_PREFIX}-rebuilt`;
started = performance.now();
const service = startService("services/processor/src/main.ts", envOf(config, { LOG_LEVEL: "info" }), ["rebuild", "--key-prefix", keyPrefix]);
// The rebuild dies with the bench (a crashed bench left it consuming).
const killWithBench = () => service.child.kill("SIGKILL");
process.on("exit", killWithBench);
const resourcesAtExit = resourcesUntilExit(service);
const code = await service.exited;
process.off("exit", killWithBench);
if (code !== 0) throw new Error(`rebuild exited with code ${code}; its last output:\n${service.output().slice(-4000)}`);
const logged = JSON.parse(await service.waitForLog("rebuild finished")) as { keyPrefix: string; partitions: number; records: number; seconds: number };
const report = { keyPrefix: logged.keyPrefix, partitions: logged.partitions, records: logged.records, seconds: logged.seconds };
const processSeconds = (performance.now() - started) / 1000;
const seconds = report.seconds;
const resources = { ...(await resourcesAtExit), processSeconds: Number(processSeconds.toFixed(1)) };
const result = {
  benchmark: "rebuild",
  at: new Date().toISOString(),
  machine: machine(),
  events: total,
  rebuildSeconds: Number(seconds.toFixed(1)),
  eventsPerSecond: Math.round(total / seconds),
  rawConsumeEventsPerSecond: Math.round(raw.eventsPerSecond),
  ratio: Number((total / seconds / raw.eventsPerSecond).toFixed(3)),
  report,
  resources,
};
console.log(`rebuild of ${total.toLocaleString("en-US")} events: ${result.rebuildSeconds} s (${result.eventsPerSecond.toLocaleString("en-US")} events/s; goal ≤ 60 s), ratio to raw consume ${result.ratio}`);
mkdirSync("bench-results", { recursive: true });
writeFileSync(`bench-results/rebuild-${result.at.replace(/[:.]/g, "-")}.json`, JSON.stringify(result, null, 2));
console.log(JSON.stringify(result));
await wipePrefix(redis, new RedisLayout(keyPrefix));
await deleteTopics(kafka, config);
redis.disconnect();
