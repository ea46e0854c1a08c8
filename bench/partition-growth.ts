/**
 * Copy rate of a partition growth's Redis half (docs/scaling.md), on the local stack's Redis:
 *   npm run bench -- partition-growth [--events 1000000] [--per-customer 5] [--days 30] [--seed 42] [--from 6] [--to 12]
 * Folds a synthetic population (deterministic; a short period, so many customers with a few events each) with the pure core per old partition, as a drained
 * processor leaves it — packed states, timers, histories — writes it under a fresh prefix, then
 * runs growPartitions (the copy and its two-way verification, what `clm partitions grow` does after
 * its Kafka checks) into another prefix. Reports customers per second of the copy and of the whole.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { DEFAULT_LIFECYCLE_CONFIG, encodeHistoryEntry, encodeState, foldPartitionBatch, nextDeadline, type BatchRecord } from "@clm/core";
import { syntheticEventStream } from "@clm/datasets";
import { partitionForKey } from "@clm/kafka";
import { RedisLayout } from "@clm/state-store";
import { growPartitions, wipePrefix } from "@clm/state-store/admin";
import { isolatedConfig } from "@clm/testkit";
import { createRedis } from "@clm/redis";
import { machine } from "./support.ts";

const { values } = parseArgs({ options: { events: { type: "string", default: "1000000" }, seed: { type: "string", default: "42" }, "per-customer": { type: "string", default: "5" }, days: { type: "string", default: "30" }, from: { type: "string", default: "6" }, to: { type: "string", default: "12" } } });
const [total, from, to] = [Number(values.events), Number(values.from), Number(values.to)];
const config = isolatedConfig();
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const redis = createRedis(config);
const source = new RedisLayout(`${config.REDIS_KEY_PREFIX}-from`);
const target = new RedisLayout(`${config.REDIS_KEY_PREFIX}-to`);

let started = performance.now();
const logs: BatchRecord[][] = Array.from({ length: from }, () => []);
let offset = 0;
for (const event of syntheticEventStream({ seed: Number(values.seed), events: total, eventsPerCustomer: Number(values["per-customer"]), days: Number(values.days) })) logs[partitionForKey(event.customerId, from)]!.push({ offset: String(offset++), event, receivedAt: event.occurredAt });
let customers = 0;
for (let partition = 0; partition < from; partition++) {
  const result = foldPartitionBatch(new Map(), logs[partition]!, { watermark: null, latenessMs: 0 }, lifecycle);
  const histories = new Map<string, Buffer[]>();
  for (const { effect } of result.effects) {
    if (effect.kind !== "stage_changed") continue;
    const entry = encodeHistoryEntry(effect.transition);
    const list = histories.get(effect.transition.customerId) ?? [];
    list.unshift(Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength));
    histories.set(effect.transition.customerId, list.slice(0, config.TRANSITION_HISTORY_PER_CUSTOMER));
  }
  let pipeline = redis.pipeline();
  for (const [customerId, state] of result.changed) {
    pipeline.set(source.customer(partition, customerId), Buffer.from(encodeState(state)));
    const deadline = nextDeadline(state, lifecycle);
    if (deadline !== null) pipeline.zadd(source.timers(partition), deadline, customerId);
    const history = histories.get(customerId);
    if (history) pipeline.rpush(source.history(partition, customerId), ...history);
    if (++customers % 5000 === 0) {
      await pipeline.exec();
      pipeline = redis.pipeline();
    }
  }
  pipeline.hset(source.meta(partition), { offset: String(logs[partition]!.length), seq: "1", watermark: String(result.watermark ?? 0), sweptThrough: String(result.sweptThrough ?? 0) });
  await pipeline.exec();
  logs[partition] = [];
}
console.log(`folded ${total.toLocaleString("en-US")} events into ${customers.toLocaleString("en-US")} customers on ${from} partitions and wrote them in ${((performance.now() - started) / 1000).toFixed(1)} s`);

started = performance.now();
const report = await growPartitions(redis, {
  from: source,
  to: target,
  fromPartitions: from,
  toPartitions: to,
  partitionOf: partitionForKey,
  startOffsets: Array.from({ length: to }, () => "0"),
});
const seconds = (performance.now() - started) / 1000;
const result = {
  benchmark: "partition-growth",
  at: new Date().toISOString(),
  machine: machine(),
  events: total,
  customers: report.customers,
  from,
  to,
  copySeconds: report.copySeconds,
  verifySeconds: report.verifySeconds,
  totalSeconds: Number(seconds.toFixed(2)),
  copyCustomersPerSecond: Math.round(report.customers / report.copySeconds),
  customersPerSecond: Math.round(report.customers / seconds),
  report,
};
console.log(
  `grew ${report.customers.toLocaleString("en-US")} customers from ${from} to ${to} partitions: copy ${report.copySeconds} s (${result.copyCustomersPerSecond.toLocaleString("en-US")}/s), verify ${report.verifySeconds} s, all ${result.totalSeconds} s (${result.customersPerSecond.toLocaleString("en-US")}/s)`,
);
mkdirSync("bench-results", { recursive: true });
writeFileSync(`bench-results/partition-growth-${result.at.replace(/[:.]/g, "-")}.json`, JSON.stringify(result, null, 2));
console.log(JSON.stringify({ ...result, report: { ...report, customersPerOldPartition: undefined, customersPerNewPartition: undefined } }));
await wipePrefix(redis, source);
await wipePrefix(redis, target);
redis.disconnect();
