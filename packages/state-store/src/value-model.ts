import type { ValueModel } from "@clm/core";
import { waitForReplicas, type RedisClient } from "@clm/redis";
import { z } from "zod";
import type { RedisLayout } from "./redis-layout.ts";

/**
 * Fitted customer-value models in Redis (docs/value.md): every version in one hash
 * (`<prefix>:value-model:versions`, version → ValueModel JSON) and the version last published as
 * current (`<prefix>:value-model:current`). A processor that reads an activation record for a
 * version loads it from the hash, so the hash is written before the current pointer, and both
 * before any activation record is sent. Whatever is read is validated: a malformed entry is an
 * error, never a half-read model.
 */

const finite = z.number().refine(Number.isFinite, "expected a finite number");
const positive = finite.refine((value) => value > 0, "expected a positive number");

export const valueModelSchema = z
  .object({
    version: z.string().regex(/^m-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}$/, "expected m-YYYY-MM-DD-<8 hex>"),
    calibrationEnd: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    unit: z.enum(["day", "week"]),
    fittedAt: z.string().min(1),
    bgnbd: z.object({ r: positive, alpha: positive, a: positive, b: positive, logLikelihood: finite, customers: z.number().int().min(0) }).strict(),
    gammaGamma: z.object({ p: positive, q: positive, v: positive, logLikelihood: finite, customers: z.number().int().min(0) }).strict(),
    tierCuts: z.object({ highValueClv: finite, potentialClv: finite, warningMonetary: finite }).strict(),
  })
  .strict();

// The schema and the shared shape must agree (a compile-time check).
const _agrees: ValueModel = {} as z.output<typeof valueModelSchema>;
void _agrees;

export class ValueModelError extends Error {
  readonly code = "VALUE_MODEL_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "ValueModelError";
  }
}

/** Parses stored model JSON; throws ValueModelError naming what is wrong. */
export function parseValueModel(text: string, where: string): ValueModel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ValueModelError(`${where} is not JSON`);
  }
  const parsed = valueModelSchema.safeParse(json);
  if (!parsed.success) throw new ValueModelError(`${where} is not a value model: ${parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ")}`);
  return parsed.data;
}

/**
 * Stores a model under its version, then makes it current (the order a processor relies on). The
 * two keys may live on different cluster nodes: each write waits for its replicas (REDIS_WAIT_REPLICAS)
 * before the next step, so no failover can keep the pointer and lose the version, and the caller
 * sends activation records only for a model that survives one.
 */
export async function storeValueModel(redis: RedisClient, layout: RedisLayout, model: ValueModel): Promise<void> {
  const checked = parseValueModel(JSON.stringify(model), `model ${model.version}`);
  await redis.hset(layout.valueModelVersions(), checked.version, JSON.stringify(checked));
  await waitForReplicas(redis, layout.valueModelVersions());
  await redis.set(layout.valueModelCurrent(), checked.version);
  await waitForReplicas(redis, layout.valueModelCurrent());
}

/** One stored version; null when the hash does not hold it. */
export async function readValueModel(redis: RedisClient, layout: RedisLayout, version: string): Promise<ValueModel | null> {
  const text = await redis.hget(layout.valueModelVersions(), version);
  return text === null ? null : parseValueModel(text, `${layout.valueModelVersions()} ${version}`);
}

/** The current model; null when none was published. A current version missing from the hash is an error. */
export async function readCurrentValueModel(redis: RedisClient, layout: RedisLayout): Promise<ValueModel | null> {
  const version = await redis.get(layout.valueModelCurrent());
  if (version === null) return null;
  const model = await readValueModel(redis, layout, version);
  if (model === null) throw new ValueModelError(`${layout.valueModelCurrent()} names ${version}, which ${layout.valueModelVersions()} does not hold`);
  return model;
}
