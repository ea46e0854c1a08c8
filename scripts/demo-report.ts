/**
 * The demo's report from Redis: the fitted customer-value model, value tiers, population RFM
 * boundaries, stage distribution and RFM segments on 1998-07-01 (the day after the CDNOW log ends,
 * to which the demo advanced the event clock), checked customer by customer against the pure core
 * folding the same log, the same advance and the same model's activation, and against the latest
 * stage and tier per customer in ClickHouse.
 */
import { createClickHouse, queryRows } from "@clm/clickhouse";
import { loadConfig } from "@clm/config";
import {
  DEFAULT_LIFECYCLE_CONFIG,
  foldPartitionBatch,
  refitCustomer,
  rfmScores,
  RFM_SEGMENTS,
  stageDistribution,
  STAGES,
  VALUE_TIERS,
  type CustomerState,
  type PartitionRecord,
} from "@clm/core";
import { readCdnowCustomerEvents } from "@clm/datasets";
import { partitionForKey } from "@clm/kafka";
import { readCurrentValueModel, RedisLayout, StateReader } from "@clm/state-store";
import { RfmBoundaryStore } from "@clm/state-store/admin";
import { createRedis, scanKeys } from "@clm/redis";

const END = Date.UTC(1998, 6, 1);
const config = loadConfig(process.env);
const redis = createRedis(config);
const layout = new RedisLayout(config.REDIS_KEY_PREFIX);
const store = new StateReader(redis, layout);
const step = (text: string) => console.log(`\n▶ ${text}`);

const model = await readCurrentValueModel(redis, layout);
if (model === null) throw new Error("no value model is current: 'clm model fit' publishes one");
step(`The customer-value model ${model.version} (calibration end ${model.calibrationEnd}, ${model.unit}s)`);
const { bgnbd, gammaGamma, tierCuts } = model;
console.log(`  BG/NBD       r ${bgnbd.r.toFixed(4)}  alpha ${bgnbd.alpha.toFixed(4)}  a ${bgnbd.a.toFixed(4)}  b ${bgnbd.b.toFixed(4)}  log-likelihood ${bgnbd.logLikelihood.toFixed(2)}  (${bgnbd.customers.toLocaleString("en-US")} customers)`);
console.log(`  Gamma-Gamma  p ${gammaGamma.p.toFixed(4)}  q ${gammaGamma.q.toFixed(4)}  v ${gammaGamma.v.toFixed(4)}  log-likelihood ${gammaGamma.logLikelihood.toFixed(2)}  (${gammaGamma.customers.toLocaleString("en-US")} repeat customers)`);
console.log(`  tier cuts    high value CLV ≥ ${tierCuts.highValueClv.toFixed(2)}  potential CLV ≥ ${tierCuts.potentialClv.toFixed(2)}  warning: spend ≥ ${tierCuts.warningMonetary.toFixed(2)} and P(alive) < ${DEFAULT_LIFECYCLE_CONFIG.value.tiers.warningPAlive}`);

step("Population RFM boundaries from the states in Redis, as of 1998-07-01 (stored for the processors' stage-change snapshots)");
const rfm = new RfmBoundaryStore(redis, layout);
const { boundaries, customers } = await rfm.computeFromStates(END);
await rfm.save(boundaries, { computedAt: END, customers });
console.log(`  recency days ${boundaries.recencyDays.map((value) => value.toFixed(0)).join(" / ")}, purchases ${boundaries.frequency.join(" / ")}, spend ${boundaries.monetaryE4.map((value) => (value / 10_000).toFixed(2)).join(" / ")}`);

// The states as the processor left them: the clock advance has fired every deadline up to 1998-07-01.
const states: CustomerState[] = [];
for await (const keys of scanKeys(redis, `${config.REDIS_KEY_PREFIX}:{p*}:c:*`, 2000)) {
  for (const key of keys) {
    const customerId = /:c:(.*)$/.exec(key)![1]!;
    const partition = Number(/\{p(\d+)\}/.exec(key)![1]);
    const [state] = (await store.loadStates(partition, [customerId])).values();
    if (state) states.push(state);
  }
}

// The pure core over the same input: each partition's events in the order they were loaded, then the advance.
const partitions = new Map<number, PartitionRecord[]>();
for (const [index, event] of (await readCdnowCustomerEvents()).entries()) {
  const partition = partitionForKey(event.customerId, config.TOPIC_PARTITIONS);
  if (!partitions.has(partition)) partitions.set(partition, []);
  partitions.get(partition)!.push({ offset: String(index), event, receivedAt: 0 });
}
const reference = new Map<string, CustomerState>();
for (const records of partitions.values()) {
  records.push({ offset: "advance", clockAdvanceTo: END });
  // The fit's activation record follows the advance on every partition; the refit sweep then reaches every customer.
  records.push({ offset: "activation", activateValueModel: model, activatedAt: null });
  const folded = foldPartitionBatch(new Map(), records, { watermark: null, latenessMs: config.EVENT_TIME_LATENESS_MS }, DEFAULT_LIFECYCLE_CONFIG);
  for (const [customerId, state] of folded.changed) reference.set(customerId, refitCustomer(state, folded.value!, DEFAULT_LIFECYCLE_CONFIG, folded.sweptThrough).state);
}
// Arrival times in the dedupe ledger belong to this delivery (Kafka timestamps), not to the log: compared without them.
const withoutArrivals = (state: CustomerState | undefined) => JSON.stringify(state, (key, value: unknown) => (key === "seenReceivedAt" ? undefined : value));
const agreeing = states.filter((state) => withoutArrivals(state) === withoutArrivals(reference.get(state.customerId))).length;

const clickhouse = createClickHouse(config);
const latest = await queryRows<{ customer_id: string; stage: string }>(clickhouse, `SELECT customer_id, stage FROM ${config.CLICKHOUSE_DATABASE}.customer_latest`);
const latestTiers = await queryRows<{ customer_id: string; tier: string }>(
  clickhouse,
  `SELECT customer_id, argMax(to_tier, version) AS tier FROM ${config.CLICKHOUSE_DATABASE}.value_tier_changes_unique WHERE model_version = '${model.version}' GROUP BY customer_id`,
);
await clickhouse.close();
const tierInClickHouse = new Map(latestTiers.map((row) => [row.customer_id, row.tier]));
const stageInClickHouse = new Map(latest.map((row) => [row.customer_id, row.stage]));
const sameInClickHouse = states.filter((state) => stageInClickHouse.get(state.customerId) === state.stage).length;

const line = (label: string, count: number, total: number) => `  ${label.padEnd(20)} ${String(count).padStart(7)}  ${((100 * count) / total).toFixed(1).padStart(5)}%`;
step(`Value tiers on 1998-07-01 (from Redis, ${states.length.toLocaleString("en-US")} customers)`);
const tiers = new Map<string, number>(VALUE_TIERS.map((tier) => [tier, 0]));
for (const state of states) if (state.valueTier !== null) tiers.set(state.valueTier, tiers.get(state.valueTier)! + 1);
for (const [tier, count] of tiers) console.log(line(tier, count, states.length));
// A tier is in ClickHouse as the latest change under this model; a customer whose tier the refit left unchanged has none there.
const sameTierInClickHouse = states.filter((state) => (tierInClickHouse.get(state.customerId) ?? state.valueTier) === state.valueTier).length;
step(`Lifecycle stages on 1998-07-01 (from Redis, ${states.length.toLocaleString("en-US")} customers)`);
const distribution = stageDistribution(states, STAGES);
for (const stage of STAGES) console.log(line(stage, distribution[stage], states.length));
step("RFM segments on 1998-07-01");
const segments = new Map<string, number>(RFM_SEGMENTS.map((segment) => [segment, 0]));
for (const state of states) {
  const scores = rfmScores(state, END, boundaries);
  if (scores) segments.set(scores.segment, segments.get(scores.segment)! + 1);
}
for (const [segment, count] of [...segments].sort((left, right) => right[1] - left[1])) console.log(line(segment, count, states.length));
console.log(`\n  Check: the Redis state of ${agreeing.toLocaleString("en-US")} of ${reference.size.toLocaleString("en-US")} customers is identical to the pure core folding the same log, the clock advance to 1998-07-01 and the model activation in memory.`);
console.log(`  Check: ClickHouse's latest stage (customer_latest) is the Redis stage for ${sameInClickHouse.toLocaleString("en-US")} of ${states.length.toLocaleString("en-US")} customers.`);
console.log(`  Check: ClickHouse's latest tier change under ${model.version} (value_tier_changes_unique) agrees with the Redis tier for ${sameTierInClickHouse.toLocaleString("en-US")} of ${states.length.toLocaleString("en-US")} customers.`);
redis.disconnect();
if (agreeing !== reference.size || states.length !== reference.size || sameInClickHouse !== states.length || stageInClickHouse.size !== states.length || sameTierInClickHouse !== states.length) process.exit(1);
