/**
 * What audiences cost:
 *   npm run bench -- audiences [--events 200000] [--audiences 100] [--seed 7]
 * 1. The pure core's fold (coreCeiling: per-partition batches as the processor folds them) of the
 *    same synthetic events without audiences and with `--audiences` definitions of every kind of
 *    condition (lists, ranges, time-dependent ones), measured in the same run.
 * 2. Redis memory of the member sets: the memberships the fold ends with written as the processor
 *    keeps them (one sorted set per audience and partition, score 0) under a throwaway prefix,
 *    then MEMORY USAGE of every set, per membership; and the bytes the memberships add to the
 *    packed states.
 * 3. Both extrapolated to 10M customers × 100 audiences at the measured membership rate.
 */
import { parseArgs } from "node:util";
import { DEFAULT_LIFECYCLE_CONFIG, encodeState, RFM_SEGMENTS, RISK_LEVELS, STAGES, TENURE_PHASES, type ActiveAudiences, type AudienceDefinition, type AudienceFilter, type CustomerState } from "@clm/core";
import { syntheticEvents } from "@clm/datasets";
import { partitionForKey } from "@clm/kafka";
import { RedisLayout } from "@clm/state-store";
import { wipePrefix } from "@clm/state-store/admin";
import { Redis } from "ioredis";
import { coreCeiling } from "./core-ceiling.ts";
import { machine } from "./support.ts";

const { values } = parseArgs({ options: { events: { type: "string", default: "200000" }, audiences: { type: "string", default: "100" }, seed: { type: "string", default: "7" } } });
const lifecycle = DEFAULT_LIFECYCLE_CONFIG;
const PARTITIONS = 12;
const TARGET_CUSTOMERS = 10_000_000;
const TARGET_AUDIENCES = 100;

/** Deterministic audiences that use every kind of condition, one or two per audience. */
function audienceDefinitions(count: number, seed: number): AudienceDefinition[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const some = <T,>(list: readonly T[]) => list.filter(() => random() < 0.4).concat(list[Math.floor(random() * list.length)]!);
  const kinds: (() => AudienceFilter)[] = [
    () => ({ stages: some(STAGES) }),
    () => ({ riskLevels: some(RISK_LEVELS) }),
    () => ({ tenurePhases: some(TENURE_PHASES) }),
    () => ({ rfmSegments: some(RFM_SEGMENTS) }),
    () => ({ monetary: { min: Math.round(random() * 200) } }),
    () => ({ purchaseCount: { min: 1 + Math.floor(random() * 5) } }),
    () => ({ daysSinceLastPurchase: { min: Math.round(random() * 90), max: 90 + Math.round(random() * 200) } }),
    () => ({ interactionScore: { min: Number((random() * 2).toFixed(2)) } }),
  ];
  return Array.from({ length: count }, (_, index) => {
    const filter = { ...kinds[index % kinds.length]!(), ...(random() < 0.5 ? kinds[Math.floor(random() * kinds.length)]!() : {}) };
    return { id: `bench-${String(index).padStart(3, "0")}`, version: 1, name: `bench ${index}`, filter };
  });
}

const events = syntheticEvents({ seed: Number(values.seed), events: Number(values.events) });
const definitions = audienceDefinitions(Number(values.audiences), Number(values.seed));
const audiences: ActiveAudiences = {
  definitions: { version: "d-1", audiences: definitions, rfm: { recencyDays: [15, 45, 90, 180], frequency: [1, 2, 4, 8], monetaryE4: [200_000, 500_000, 1_000_000, 2_000_000] } },
  activatedAt: 0,
};
const options = { partitions: PARTITIONS, lifecycle, latenessMs: 0 };

// Warm both paths once, then alternate so drift on a shared machine hits both alike.
coreCeiling(events.slice(0, 20_000), options);
coreCeiling(events.slice(0, 20_000), { ...options, audiences });
const without: number[] = [];
const withAudiences: number[] = [];
let audienceChanges = 0;
const states = new Map<string, CustomerState>();
for (let round = 0; round < 2; round++) {
  without.push(coreCeiling(events, options).eventsPerSecond);
  const run = coreCeiling(events, { ...options, audiences, states: round === 0 ? states : new Map() });
  withAudiences.push(run.eventsPerSecond);
  audienceChanges = run.audienceChanges;
}
const best = (list: number[]) => Math.max(...list);

// Memberships as the processor's member sets hold them.
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const layout = new RedisLayout(`bench-audiences-${Date.now().toString(36)}`);
let memberships = 0;
let stateBytesWith = 0;
let stateBytesWithout = 0;
try {
  const members = new Map<string, string[]>();
  for (const [customerId, state] of states) {
    stateBytesWith += encodeState(state).length;
    stateBytesWithout += encodeState({ ...state, audiencesVersion: null, audienceIds: [], audiencesReviewedAt: null, audiencesReviewAt: null }).length;
    const partition = partitionForKey(customerId, PARTITIONS);
    for (const audienceId of state.audienceIds) {
      const key = layout.audienceMembers(partition, audienceId);
      let list = members.get(key);
      if (list === undefined) members.set(key, (list = []));
      list.push(customerId);
      memberships++;
    }
  }
  for (const [key, list] of members) {
    for (let offset = 0; offset < list.length; offset += 1000) await redis.zadd(key, ...list.slice(offset, offset + 1000).flatMap((id) => ["0", id]));
  }
  let bytes = 0;
  for (const key of members.keys()) bytes += Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
  const customers = states.size;
  const perMembership = bytes / Math.max(1, memberships);
  const rate = memberships / Math.max(1, customers * definitions.length);
  const targetMemberships = TARGET_CUSTOMERS * TARGET_AUDIENCES * rate;
  const stateBytesPerCustomer = (stateBytesWith - stateBytesWithout) / Math.max(1, customers);
  const foldSlowdown = best(withAudiences) / best(without);
  const report = {
    machine: machine(),
    events: events.length,
    customers,
    audiences: definitions.length,
    fold: {
      eventsPerSecondWithout: best(without),
      eventsPerSecondWith: best(withAudiences),
      ratio: Number(foldSlowdown.toFixed(2)),
      audienceChanges,
    },
    redis: {
      memberSets: members.size,
      memberships,
      membershipRate: Number(rate.toFixed(3)),
      memberSetBytes: bytes,
      bytesPerMembership: Number(perMembership.toFixed(1)),
      packedStateBytesPerCustomerForMemberships: Number(stateBytesPerCustomer.toFixed(1)),
    },
    extrapolated: {
      customers: TARGET_CUSTOMERS,
      audiences: TARGET_AUDIENCES,
      memberships: Math.round(targetMemberships),
      memberSetGiB: Number(((targetMemberships * perMembership) / 2 ** 30).toFixed(2)),
      packedStateGiB: Number(((TARGET_CUSTOMERS * stateBytesPerCustomer * (TARGET_AUDIENCES / definitions.length)) / 2 ** 30).toFixed(2)),
      foldCpuSecondsPerMillionEvents: Number((1_000_000 / best(withAudiences)).toFixed(2)),
    },
  };
  console.log(JSON.stringify(report, null, 2));
} finally {
  await wipePrefix(redis, layout).catch(() => undefined);
  redis.disconnect();
}
