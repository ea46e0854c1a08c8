import type { RedisClient } from "@clm/redis";
import { readAudienceDefinitions } from "./audiences.ts";
import { copyForGrowth, type CopyCounts, type SourceActivations } from "./growth-copy.ts";
import type { GrowthLayouts } from "./growth-layouts.ts";
import { grownMeta, grownMetaFields, growthProblems, type GrownMeta, type SourcePartition } from "./growth-plan.ts";
import { verifyGrowth } from "./growth-verify.ts";
import { anyKey, unlinkMatching } from "./key-scan.ts";
import type { RedisLayout } from "./redis-layout.ts";
import { StateReader } from "./state-reader.ts";
import { readValueModel } from "./value-model.ts";

export interface GrowthOptions {
  from: RedisLayout;
  to: RedisLayout;
  /** Partitions of the old input topic (the old TOPIC_PARTITIONS). */
  fromPartitions: number;
  /** Partitions of the new input topic. */
  toPartitions: number;
  /** The partition the producers' partitioner gives a customer's key among `partitions` (@clm/kafka partitionForKey). */
  partitionOf: (customerId: string, partitions: number) => number;
  /** Each new partition's first offset on the new input topic, by partition. */
  startOffsets: readonly string[];
  /** Written, with the counts, to the new prefix's growth record (the Kafka side: topics, offsets). */
  record?: Readonly<Record<string, unknown>>;
  /**
   * Asked after the copy verified and before any new meta is written: what has moved on the old
   * side meanwhile (records on the old topic, a processor back in its group); any answer refuses.
   */
  stillDrained?: () => Promise<string[]>;
  /** Keys per SCAN page (default 1000). */
  scanCount?: number;
  /** Called after each SCAN page with the customers copied so far. */
  onProgress?: (customers: number) => void;
}

/** What the copy counted (its problems aside: a report exists only when there were none), and the grown meta. */
export interface GrowthReport extends Omit<CopyCounts, "problems"> {
  meta: GrownMeta;
  copySeconds: number;
  verifySeconds: number;
}

/** The old partitions cannot be grown as they are, or the copy did not verify; nothing is left under the new prefix. */
export class GrowthRefusedError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`partition growth refused:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "GrowthRefusedError";
  }
}

/**
 * The Redis half of growing the input topic's partition count (docs/scaling.md): with the old
 * partitions drained (every input record applied, outboxes empty, no sweep under way — the caller
 * checks the offsets against Kafka), copies the old prefix to an empty new one under the new
 * partitioning, verifies the copy both ways, and only then writes each new partition's meta — its
 * start offset on the new topic, write fence 0, the grown clock and activations — and the growth
 * record. The old prefix is only read. On any refusal or failure the new prefix is emptied again.
 */
export async function growPartitions(redis: RedisClient, options: GrowthOptions): Promise<GrowthReport> {
  const { from, to, fromPartitions, toPartitions } = options;
  if (from.prefix === to.prefix) throw new GrowthRefusedError([`the new prefix must differ from the old one (${from.prefix})`]);
  if (options.startOffsets.length !== toPartitions) throw new RangeError(`${options.startOffsets.length} start offsets for ${toPartitions} new partitions`);
  const reader = new StateReader(redis, from);
  const sources: SourcePartition[] = [];
  for (let partition = 0; partition < fromPartitions; partition++) sources.push({ partition, meta: await reader.loadMeta(partition), outboxLength: await reader.outboxLength(partition) });
  const problems = growthProblems(sources);
  const occupied = await anyKey(redis, to.pattern());
  if (occupied !== null) problems.push(`the new prefix ${to.prefix} holds keys already (${occupied}): pick another, or delete what is there if it is a failed growth's`);
  if (problems.length > 0) throw new GrowthRefusedError(problems);

  const meta = grownMeta(sources);
  const activations = await sourceActivations(redis, from, sources);
  const layouts: GrowthLayouts = { from, to, fromPartitions, toPartitions, partitionOf: options.partitionOf, scanCount: options.scanCount ?? 1000 };
  try {
    const started = performance.now();
    const counts = await copyForGrowth(redis, layouts, activations, options.onProgress);
    if (counts.problems.size > 0) throw new GrowthRefusedError(counts.problems.lines());
    const copied = performance.now();
    const mismatches = await verifyGrowth(redis, layouts);
    if (mismatches.size > 0) throw new GrowthRefusedError(["the copy does not verify:", ...mismatches.lines()]);
    const verified = performance.now();
    const moved = (await options.stillDrained?.()) ?? [];
    for (const { partition, meta: before } of sources) {
      const now = await reader.loadMeta(partition);
      if (now.seq !== before.seq) moved.push(`partition ${partition} was written meanwhile (write fence ${before.seq} → ${now.seq}): a processor still runs on ${from.prefix}`);
    }
    if (moved.length > 0) throw new GrowthRefusedError(["the old side moved during the copy:", ...moved]);
    const { problems: _problems, ...figures } = counts;
    const report: GrowthReport = { ...figures, meta, copySeconds: seconds(copied - started), verifySeconds: seconds(verified - copied) };
    for (let partition = 0; partition < toPartitions; partition++) await redis.hset(to.meta(partition), grownMetaFields(meta, options.startOffsets[partition]!));
    const record = { at: new Date().toISOString(), fromPrefix: from.prefix, fromPartitions, toPartitions, startOffsets: options.startOffsets, ...options.record, meta, customers: report.customers };
    await redis.rpush(to.growths(), JSON.stringify(record));
    return report;
  } catch (error) {
    await unlinkMatching(redis, to.pattern()).catch(() => undefined);
    throw error;
  }
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/** Each old partition's active value model and audience definitions, as the processor holds them (their stored versions). */
async function sourceActivations(redis: RedisClient, layout: RedisLayout, sources: readonly SourcePartition[]): Promise<SourceActivations[]> {
  const activations: SourceActivations[] = [];
  for (const { partition, meta } of sources) {
    let value: SourceActivations["value"] = null;
    if (meta.valueModel !== null) {
      const model = await readValueModel(redis, layout, meta.valueModel.version);
      if (model === null) throw new GrowthRefusedError([`partition ${partition}: its value model ${meta.valueModel.version} is not in ${layout.valueModelVersions()}`]);
      value = { model, activatedAt: meta.valueModel.activatedAt };
    }
    let audiences: SourceActivations["audiences"] = null;
    if (meta.audiences !== null) {
      const definitions = await readAudienceDefinitions(redis, layout, meta.audiences.version);
      if (definitions === null) throw new GrowthRefusedError([`partition ${partition}: its audience definitions ${meta.audiences.version} are not in ${layout.audienceVersions()}`]);
      audiences = { definitions, activatedAt: meta.audiences.activatedAt };
    }
    activations.push({ value, audiences });
  }
  return activations;
}
