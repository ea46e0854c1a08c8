import type { ClickHouseClient } from "@clickhouse/client";
import { insertValueModelFit, insertValuePredictions } from "@clm/clickhouse";
import { valueModelActivationMessage } from "@clm/kafka";
import type { RedisLayout } from "@clm/state-store";
import { storeValueModel } from "@clm/state-store/admin";
import type { RedisClient } from "@clm/redis";
import type { Admin, Producer } from "kafkajs";
import type { ValueFit } from "./fit.ts";

export interface PublishTargets {
  readonly clickhouse: { client: ClickHouseClient; database: string };
  readonly redis: RedisClient;
  readonly layout: RedisLayout;
  /** Connected; the activation records go to every partition of `topic`. */
  readonly kafka: { producer: Producer; admin: Admin; topic: string };
}

export interface PublishReport {
  readonly version: string;
  readonly predictions: number;
  /** Partitions of the input topic that got an activation record. */
  readonly partitions: number;
}

/**
 * Publishes a fit, in the order that keeps every reader consistent: (1) the fit and its predictions
 * into ClickHouse (analytics; a repeat writes copies the views collapse), (2) the model into Redis —
 * the versions hash, then the current pointer — and (3) one activation record to every partition of
 * the input topic, after which each processor values its customers with it from that place in the
 * partition on. A failure part-way is repaired by publishing again: every step is idempotent.
 */
export async function publishValueModel(targets: PublishTargets, fit: ValueFit): Promise<PublishReport> {
  const { model } = fit;
  await insertValueModelFit(targets.clickhouse.client, targets.clickhouse.database, model, fit.settings);
  await insertValuePredictions(targets.clickhouse.client, targets.clickhouse.database, model, fit.predictions);
  await storeValueModel(targets.redis, targets.layout, model);
  const metadata = await targets.kafka.admin.fetchTopicMetadata({ topics: [targets.kafka.topic] });
  const messages = metadata.topics[0]!.partitions.map((partition) => valueModelActivationMessage(model.version, partition.partitionId));
  await targets.kafka.producer.send({ topic: targets.kafka.topic, acks: -1, messages });
  return { version: model.version, predictions: fit.predictions.length, partitions: messages.length };
}
