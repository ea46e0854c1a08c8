import { randomBytes } from "node:crypto";
import { renameLegacyKeys, scanKeys, unlinkKeys, waitForReplicas, type RedisClient } from "@clm/redis";
import { destinationCreateSchema, type Destination, type DestinationCreate, type DestinationUpdate } from "./destination.ts";
import { WebhookKeys } from "./keys.ts";
import { generateSecret } from "./secrets.ts";

/** Lanes of a destination created without a lane count. */
export const DEFAULT_LANES = 64;

/**
 * Destinations in Redis (one hash, JSON per destination) and a version the delivery service polls to
 * reload them. Shared by the service's API and `clm destinations`, which both validate with the same
 * zod schemas (destination.ts) before calling here.
 */
export class DestinationStore {
  readonly keys: WebhookKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new WebhookKeys(prefix);
  }

  /**
   * Renames a single server's destination keys of the layout before hash tags (keys.ts) to their
   * names now, once; a cluster cannot hold them (renameLegacyKeys). Returns how many were renamed.
   */
  renameLegacyKeys(): Promise<number> {
    return renameLegacyKeys(this.redis, this.keys.legacyDestinationKeys());
  }

  async list(): Promise<Destination[]> {
    const all = await this.redis.hgetall(this.keys.destinations);
    return Object.values(all)
      .map((text) => JSON.parse(text) as Destination)
      .sort((left, right) => left.createdAt - right.createdAt || left.id.localeCompare(right.id));
  }

  async get(id: string): Promise<Destination | null> {
    const text = await this.redis.hget(this.keys.destinations, id);
    return text === null ? null : (JSON.parse(text) as Destination);
  }

  /** A number that changes whenever a destination is created, changed or deleted. */
  async version(): Promise<string> {
    return (await this.redis.get(this.keys.version)) ?? "0";
  }

  async create(input: DestinationCreate, now: number): Promise<Destination> {
    const parsed = destinationCreateSchema.parse(input);
    const destination: Destination = {
      id: `dst_${randomBytes(8).toString("hex")}`,
      url: parsed.url,
      types: [...new Set(parsed.types)],
      audienceIds: parsed.audienceIds ?? null,
      maxBatch: parsed.maxBatch,
      lanes: parsed.lanes ?? DEFAULT_LANES,
      description: parsed.description ?? null,
      secrets: [{ secret: parsed.secret ?? generateSecret(), createdAt: now, expiresAt: null }],
      createdAt: now,
      updatedAt: now,
    };
    await this.write(destination);
    return destination;
  }

  async update(id: string, patch: DestinationUpdate, now: number): Promise<Destination | null> {
    const current = await this.get(id);
    if (current === null) return null;
    const next: Destination = {
      ...current,
      ...(patch.url !== undefined ? { url: patch.url } : {}),
      ...(patch.types !== undefined ? { types: [...new Set(patch.types)] } : {}),
      ...(patch.audienceIds !== undefined ? { audienceIds: patch.audienceIds } : {}),
      ...(patch.maxBatch !== undefined ? { maxBatch: patch.maxBatch } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      updatedAt: now,
    };
    await this.write(next);
    return next;
  }

  /**
   * A new current secret (given or generated); each previous one still valid keeps signing until
   * `now + overlapMs` (or its own earlier end), so receivers can switch within that window.
   */
  async rotateSecret(id: string, options: { secret?: string; overlapMs: number }, now: number): Promise<Destination | null> {
    const current = await this.get(id);
    if (current === null) return null;
    const until = now + options.overlapMs;
    const previous = current.secrets
      .filter((entry) => entry.expiresAt === null || entry.expiresAt > now)
      .map((entry) => ({ ...entry, expiresAt: Math.min(entry.expiresAt ?? until, until) }))
      .filter((entry) => entry.expiresAt > now);
    const next: Destination = { ...current, secrets: [{ secret: options.secret ?? generateSecret(), createdAt: now, expiresAt: null }, ...previous], updatedAt: now };
    await this.write(next);
    return next;
  }

  /** Removes the destination and everything queued or dead-lettered for it. */
  async delete(id: string): Promise<boolean> {
    const [[, removed] = [null, 0]] = (await this.redis.multi().hdel(this.keys.destinations, id).incr(this.keys.version).exec()) ?? [];
    await waitForReplicas(this.redis, this.keys.destinations);
    for await (const found of scanKeys(this.redis, this.keys.of(id).pattern)) await unlinkKeys(this.redis, found);
    return removed === 1;
  }

  /** One transaction (the hash and its version share a slot); answered once REDIS_WAIT_REPLICAS replicas have it. */
  private async write(destination: Destination): Promise<void> {
    await this.redis.multi().hset(this.keys.destinations, destination.id, JSON.stringify(destination)).incr(this.keys.version).exec();
    await waitForReplicas(this.redis, this.keys.destinations);
  }
}
