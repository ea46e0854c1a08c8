import { viewAt, type ActiveValueModel, type CustomerAnswer, type EpochMs, type LifecycleConfig, type RfmBoundaries, type ValueModel } from "@clm/core";
import { partitionForKey } from "@clm/kafka";
import type { StateReader } from "@clm/state-store";

/**
 * Reads customers from the processor's Redis state, through @clm/state-store's read-only reader. The partition of a customer
 * is the one Kafka's default (murmur2) partitioner gives its key — the same one
 * every producer used — so a lookup is one GET and one HMGET of the partition's meta
 * (its watermark and active value model).
 *
 * Each answer is the customer at one instant: the one asked for, else the pipeline's
 * time — the wall clock in wall mode, the partition's event-time watermark in event mode.
 * The watermark (not watermark − lateness) because it is the one instant at which
 * everything in the state has happened: an answer at watermark − lateness would count
 * events of the last `lateness` that lie after its own instant.
 */
export class CustomerReader {
  /** Stored value models by version (a version never changes). */
  private readonly models = new Map<string, ValueModel>();

  constructor(
    private readonly store: StateReader,
    private readonly lifecycle: LifecycleConfig,
    private readonly partitions: number,
    private readonly boundaries: () => RfmBoundaries | null,
    private readonly clockMode: "wall" | "event" = "wall",
  ) {}

  partitionOf(customerId: string): number {
    return partitionForKey(customerId, this.partitions);
  }

  /** null for an unknown customer; `asOf` null answers at the pipeline's time. */
  async customer(customerId: string, time: { now: EpochMs; asOf: EpochMs | null }): Promise<CustomerAnswer | null> {
    const partition = this.partitionOf(customerId);
    const state = (await this.store.loadStates(partition, [customerId])).get(customerId);
    if (state === undefined) return null;
    const meta = await this.store.loadMeta(partition);
    // The model the partition applies: the answer shows what the processor decides (refitted if the sweep has not reached the customer yet).
    const value = meta.valueModel === null ? null : await this.activeModel(meta.valueModel.version, meta.valueModel.activatedAt);
    if (time.asOf !== null) return viewAt(state, { at: time.asOf, clock: "requested" }, this.lifecycle, this.boundaries(), value);
    if (this.clockMode === "wall") return viewAt(state, { at: time.now, clock: "wall_clock" }, this.lifecycle, this.boundaries(), value);
    // A partition with a customer has a watermark; the state's own instant stands in if it had none.
    return viewAt(state, { at: meta.watermark ?? Number.NEGATIVE_INFINITY, clock: "event_watermark" }, this.lifecycle, this.boundaries(), value);
  }

  private async activeModel(version: string, activatedAt: EpochMs): Promise<ActiveValueModel | null> {
    let model = this.models.get(version) ?? null;
    if (model === null) {
      model = await this.store.valueModel(version);
      if (model !== null) this.models.set(version, model);
    }
    return model === null ? null : { model, activatedAt };
  }

  async transitions(customerId: string, limit: number): Promise<unknown[] | null> {
    const partition = this.partitionOf(customerId);
    if ((await this.store.loadStates(partition, [customerId])).size === 0) return null;
    const entries = await this.store.history(partition, customerId, limit);
    return entries.map((entry) => ({ ...entry, occurredAt: new Date(entry.occurredAt).toISOString() }));
  }
}
