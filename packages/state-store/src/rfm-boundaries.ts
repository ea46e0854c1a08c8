import { computeRfmBoundaries, decodeState, parseRfmBoundaries, type EpochMs, type RfmBoundaries, type RfmFigures } from "@clm/core";
import { getBuffers, scanKeys, waitForReplicas, type RedisClient } from "@clm/redis";
import type { RedisLayout } from "./redis-layout.ts";

/**
 * RFM quantile boundaries are a population figure: computed from all customers
 * (here from the states in Redis; ClickHouse can compute the same), stored under
 * one key, and read by every processor to score the snapshots of stage changes
 * (and by the customer API for its scores).
 */
export class RfmBoundaryReader {
  constructor(
    protected readonly redis: RedisClient,
    protected readonly layout: RedisLayout,
  ) {}

  get key(): string {
    return `${this.layout.prefix}:rfm:boundaries`;
  }

  /** The stored boundaries; null when none are stored or the stored ones do not parse. */
  async load(): Promise<RfmBoundaries | null> {
    const text = await this.redis.get(this.key);
    if (text === null) return null;
    try {
      return parseRfmBoundaries(JSON.parse(text));
    } catch {
      return null;
    }
  }
}

/** Computes the boundaries from the customer states and stores them (processor `rfm-boundaries`, the demo). */
export class RfmBoundaryStore extends RfmBoundaryReader {
  async save(boundaries: RfmBoundaries, details: { computedAt: EpochMs; customers: number }): Promise<void> {
    await this.redis.set(this.key, JSON.stringify({ ...boundaries, computedAt: new Date(details.computedAt).toISOString(), customers: details.customers }));
    await waitForReplicas(this.redis, this.key);
  }

  /** Scans every customer state of the layout and computes the boundaries at instant `at`. */
  async computeFromStates(at: EpochMs): Promise<{ boundaries: RfmBoundaries; customers: number }> {
    const figures: RfmFigures[] = [];
    const customerKey = /:\{p\d+\}:c:(.*)$/;
    for await (const keys of scanKeys(this.redis, `${this.layout.prefix}:{p*}:c:*`, 2000)) {
      const values = await getBuffers(this.redis, keys);
      values.forEach((value, index) => {
        const customerId = customerKey.exec(keys[index]!)?.[1];
        if (value && customerId !== undefined) {
          const state = decodeState(customerId, value);
          figures.push({ lastPurchaseAt: state.lastPurchaseAt, purchaseCount: state.purchaseCount, monetaryE4: state.monetaryE4 });
        }
      });
    }
    return { boundaries: computeRfmBoundaries(figures, at), customers: figures.length };
  }
}
