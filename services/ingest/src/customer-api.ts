import { describeCustomer, type CustomerView, type LifecycleConfig, type RfmBoundaries } from "@clm/core";
import type { StateStore } from "@clm/processor";
import { partitionForKey } from "@clm/kafka";

/**
 * Reads customers from the processor's Redis state. The partition of a customer
 * is the one Kafka's default (murmur2) partitioner gives its key — the same one
 * every producer used — so a lookup is one GET.
 */
export class CustomerReader {
  constructor(
    private readonly store: StateStore,
    private readonly lifecycle: LifecycleConfig,
    private readonly partitions: number,
    private readonly boundaries: () => RfmBoundaries | null,
  ) {}

  partitionOf(customerId: string): number {
    return partitionForKey(customerId, this.partitions);
  }

  async customer(customerId: string, now: number): Promise<CustomerView | null> {
    const partition = this.partitionOf(customerId);
    const state = (await this.store.loadStates(partition, [customerId])).get(customerId);
    return state === undefined ? null : describeCustomer(state, now, this.lifecycle, this.boundaries());
  }

  async transitions(customerId: string, limit: number): Promise<unknown[] | null> {
    const partition = this.partitionOf(customerId);
    if ((await this.store.loadStates(partition, [customerId])).size === 0) return null;
    const entries = await this.store.history(partition, customerId, limit);
    return entries.map((entry) => ({ ...entry, occurredAt: new Date(entry.occurredAt).toISOString() }));
  }
}
