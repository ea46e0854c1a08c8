import { createClickHouse } from "@clm/clickhouse";
import { loadLifecycleConfig, type Config } from "@clm/config";
import type { ValueModel } from "@clm/core";
import { createIdempotentProducer, createKafka } from "@clm/kafka";
import { createRedis } from "@clm/redis";
import { readCurrentValueModel, RedisLayout } from "@clm/state-store";
import { calibrationEndAt, evaluateFromClickHouse, fitFromClickHouse, pipelineClock, publishValueModel } from "@clm/value-model";
import { commandConfig, commandLogger, pipelineClockMode } from "../context.ts";
import { parseModelArgs } from "../model-args.ts";
import { modelJson, renderEvaluation, renderModel, tierCounts } from "../model-text.ts";

export const usage = `clm model fit [--calibration-end YYYY-MM-DD] [--json]
clm model evaluate --calibration-end YYYY-MM-DD --holdout-end YYYY-MM-DD [--json]
clm model show [--json]
  fit: fits BG/NBD and Gamma-Gamma on every customer's purchase days up to and including the
  calibration end (summaries computed in ClickHouse over the deduplicated events, maximum
  likelihood in TypeScript), predicts every customer, cuts the value tiers as quantiles of that
  population, then publishes the model: value_model_fits and value_predictions in ClickHouse, Redis
  (<prefix>:value-model:versions and :current), and an activation record on every partition of the
  input topic, from which on the processors value customers with it. Without --calibration-end:
  the UTC day of the pipeline's clock − 1 ms (CLOCK_MODE event: the largest event-time watermark of
  the processor's partitions; wall: now).
  evaluate: fits on the calibration period and compares its predictions for the hold-out
  (calibration end, hold-out end] with what the calibration customers did there in ClickHouse,
  beside a naive baseline. Stores and activates nothing.
  show: the current model (Redis). --json: one JSON object on stdout. docs/value.md.`;

export async function run(args: readonly string[]): Promise<number> {
  const command = parseModelArgs(args);
  const loaded = commandConfig();
  const config = { ...loaded, CLOCK_MODE: pipelineClockMode(loaded) };
  if (command.action === "show") return show(config, command.json);
  const lifecycle = loadLifecycleConfig(config);
  const clickhouse = { client: createClickHouse(config, { requestTimeoutMs: 300_000 }), database: config.CLICKHOUSE_DATABASE };
  try {
    if (command.action === "evaluate") {
      const { fit, evaluation } = await evaluateFromClickHouse(clickhouse, { calibrationEnd: command.calibrationEnd, holdoutEnd: command.holdoutEnd, unit: lifecycle.value.unit, config: lifecycle, now: Date.now() });
      if (command.json) console.log(JSON.stringify({ ...modelJson(fit.model), holdout: evaluation, activated: false }));
      else console.log(`${renderModel(fit.model)}\n\n${renderEvaluation(fit.model, evaluation)}`);
      return 0;
    }

    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-cli`, logger: commandLogger() });
    const admin = kafka.admin();
    const producer = createIdempotentProducer(kafka);
    const redis = createRedis(config, { maxRetriesPerRequest: 2, lazyConnect: true });
    try {
      await Promise.all([admin.connect(), producer.connect(), redis.connect()]);
      let calibrationEnd = command.calibrationEnd;
      let clockNote = "--calibration-end";
      if (calibrationEnd === undefined) {
        const metadata = await admin.fetchTopicMetadata({ topics: [config.TOPIC_EVENTS] });
        const clock = await pipelineClock({ redis, config, partitions: metadata.topics[0]!.partitions.length, now: Date.now });
        if (clock === null) {
          console.error(`clm model: the pipeline runs on the event clock and no partition of ${config.TOPIC_EVENTS} has a watermark yet; give --calibration-end`);
          return 1;
        }
        calibrationEnd = calibrationEndAt(clock);
        clockNote = `the pipeline's ${config.CLOCK_MODE} clock, ${new Date(clock).toISOString()}`;
      }
      const fit = await fitFromClickHouse(clickhouse, { calibrationEnd, unit: lifecycle.value.unit, config: lifecycle, now: Date.now() });
      const report = await publishValueModel({ clickhouse, redis, layout: new RedisLayout(config.REDIS_KEY_PREFIX), kafka: { producer, admin, topic: config.TOPIC_EVENTS } }, fit);
      const tiers = tierCounts(fit.predictions.map((prediction) => prediction.tier));
      if (command.json) {
        console.log(JSON.stringify({ ...modelJson(fit.model), tiers, published: { database: config.CLICKHOUSE_DATABASE, predictions: report.predictions, redisPrefix: config.REDIS_KEY_PREFIX, topic: config.TOPIC_EVENTS, partitions: report.partitions } }));
      } else {
        console.log(renderModel(fit.model, tiers));
        console.log("");
        console.log(`calibration end from ${clockNote}`);
        console.log(`published: ${report.predictions} predictions in ${config.CLICKHOUSE_DATABASE}.value_predictions, current in Redis (${config.REDIS_KEY_PREFIX}:value-model:current), activation on ${report.partitions} partitions of ${config.TOPIC_EVENTS}`);
      }
      return 0;
    } finally {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      redis.disconnect();
    }
  } finally {
    await clickhouse.client.close();
  }
}

async function show(config: Config, json: boolean): Promise<number> {
  const redis = createRedis(config, { maxRetriesPerRequest: 2, lazyConnect: true });
  try {
    await redis.connect();
    const model: ValueModel | null = await readCurrentValueModel(redis, new RedisLayout(config.REDIS_KEY_PREFIX));
    if (model === null) {
      if (json) console.log(JSON.stringify({ modelVersion: null }));
      else console.log(`no value model published under ${config.REDIS_KEY_PREFIX} ('clm model fit' fits and publishes one)`);
      return 1;
    }
    console.log(json ? JSON.stringify(modelJson(model)) : renderModel(model));
    return 0;
  } finally {
    redis.disconnect();
  }
}
