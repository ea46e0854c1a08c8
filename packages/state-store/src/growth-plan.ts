import { needsAudienceRefit, needsRefit, type ActiveAudiences, type ActiveValueModel, type CustomerState, type EpochMs } from "@clm/core";
import type { PartitionMeta } from "./state-reader.ts";

/**
 * The pure half of a partition growth (docs/scaling.md, "Growing the partition count"): whether the
 * old partitions can be grown as they are, and the meta every new partition starts with.
 */

/** What a growth reads of one old partition besides its customers. */
export interface SourcePartition {
  partition: number;
  meta: PartitionMeta;
  /** Changes in its outbox, not yet published. */
  outboxLength: number;
}

/** The meta every new partition starts with, besides its offset on the new topic. */
export interface GrownMeta {
  /** The earliest of the old partitions' watermarks (null: none has one). */
  watermark: EpochMs | null;
  /** The earliest instant the old partitions' sweeps have fired deadlines through (null: none swept). */
  sweptThrough: EpochMs | null;
  /** The value model every old partition runs, activated at the earliest of their activation instants. */
  valueModel: { version: string; activatedAt: EpochMs } | null;
  /** The audience definitions every old partition runs, likewise (the sets before them are left behind). */
  audiences: { version: string; activatedAt: EpochMs } | null;
}

/** Why the old partitions cannot be grown now (empty: they can). Each line says what to do. */
export function growthProblems(sources: readonly SourcePartition[]): string[] {
  const problems: string[] = [];
  for (const { partition, meta, outboxLength } of sources) {
    if (outboxLength > 0) problems.push(`partition ${partition}: ${outboxLength} changes in the outbox are not published yet (run the processors until it is empty: clm wait)`);
    if (meta.refitCursor !== null) problems.push(`partition ${partition}: the refit sweep to value model ${meta.valueModel?.version ?? "?"} is under way (run the processors until it ends: clm wait)`);
    if (meta.audienceCursor !== null) problems.push(`partition ${partition}: the sweep to audience definitions ${meta.audiences?.version ?? "?"} is under way (run the processors until it ends: clm wait)`);
  }
  const disagreement = (what: string, versionOf: (meta: PartitionMeta) => string | null) => {
    const versions = new Set(sources.map((source) => versionOf(source.meta)));
    if (versions.size > 1) {
      const each = sources.map((source) => `${source.partition}: ${versionOf(source.meta) ?? "none"}`).join(", ");
      problems.push(`the partitions run different ${what} (${each}): an activation reached only some of them; publish it again and let the processors apply it`);
    }
  };
  disagreement("value models", (meta) => meta.valueModel?.version ?? null);
  disagreement("audience definitions", (meta) => meta.audiences?.version ?? null);
  return problems;
}

const earliest = (values: readonly (number | null)[]): number | null => {
  const known = values.filter((value): value is number => value !== null);
  return known.length === 0 ? null : Math.min(...known);
};

/**
 * The meta of every new partition (growthProblems must hold none). Each customer of a new
 * partition comes from some old one, whose sweeps fired its deadlines through that partition's
 * watermark less the lateness; the earliest watermark is therefore one every customer is past, so
 * the processor's invariant — no deadline left unfired before the sweep line — holds from the first
 * record on. The activation instants are read by no copied customer (none is still to be moved to
 * the active model or definitions: the copy refuses otherwise) and by no new one (a new customer
 * starts on them); the earliest is kept.
 */
export function grownMeta(sources: readonly SourcePartition[]): GrownMeta {
  const active = <T extends { version: string; activatedAt: EpochMs }>(of: (meta: PartitionMeta) => T | null): GrownMeta["valueModel"] => {
    const found = sources.map((source) => of(source.meta)).filter((value): value is T => value !== null);
    if (found.length === 0) return null;
    return { version: found[0]!.version, activatedAt: Math.min(...found.map((value) => value.activatedAt)) };
  };
  return {
    watermark: earliest(sources.map((source) => source.meta.watermark)),
    sweptThrough: earliest(sources.map((source) => source.meta.sweptThrough)),
    valueModel: active((meta) => meta.valueModel),
    audiences: active((meta) => meta.audiences),
  };
}

/** The meta hash of a new partition that starts at `offset` of the new input topic, as the processor reads it (StateReader.loadMeta). */
export function grownMetaFields(meta: GrownMeta, offset: string): Record<string, string> {
  const fields: Record<string, string> = { offset, seq: "0" };
  if (meta.watermark !== null) fields.watermark = String(meta.watermark);
  if (meta.sweptThrough !== null) fields.sweptThrough = String(meta.sweptThrough);
  if (meta.valueModel !== null) Object.assign(fields, { valueModel: meta.valueModel.version, valueModelAt: String(meta.valueModel.activatedAt) });
  if (meta.audiences !== null) Object.assign(fields, { audiences: meta.audiences.version, audiencesAt: String(meta.audiences.activatedAt), audiencesBefore: "[]" });
  return fields;
}

/**
 * Why a customer cannot move now: it is still to be moved to its partition's value model or
 * audience definitions (the sweep passed it before the activation instant came, on the event
 * clock). Its move depends on its old partition's activation instant, which a new partition, holding
 * customers of every old one, cannot keep.
 */
export function pendingActivation(state: CustomerState, value: ActiveValueModel | null, audiences: ActiveAudiences | null): "value model" | "audience definitions" | null {
  if (needsRefit(state, value)) return "value model";
  if (needsAudienceRefit(state, audiences)) return "audience definitions";
  return null;
}
