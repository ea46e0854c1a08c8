import { audienceFilterSchema, AUDIENCE_ID_PATTERN, parseRfmBoundaries, type AudienceDefinition, type AudienceDefinitions, type RfmBoundaries } from "@clm/core";
import { waitForReplicas, type RedisClient } from "@clm/redis";
import { z } from "zod";
import type { RedisLayout } from "./redis-layout.ts";

/**
 * Audience definitions in Redis (docs/audiences.md). Every change of any audience makes a new
 * definitions set, stored immutably under its version (`<prefix>:{audiences}:versions`) before the
 * current pointer (`<prefix>:{audiences}:current`, the same hash slot) moves to it and before its
 * activation record is sent, so a processor that meets the record finds the set. Members are the processor's: one
 * sorted set per audience and partition (`<prefix>:{pN}:aud:<id>`, score 0), written in its fenced
 * commit; this module only reads them.
 */

const definitionSchema = z
  .object({ id: z.string().regex(AUDIENCE_ID_PATTERN), version: z.number().int().min(1), name: z.string().min(1), filter: audienceFilterSchema })
  .strict();

const definitionsSchema = z
  .object({ version: z.string().regex(/^d-\d{1,15}$/), audiences: z.array(definitionSchema), rfm: z.unknown().nullable() })
  .strict();

export class AudienceDefinitionsError extends Error {
  readonly code = "AUDIENCES_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "AudienceDefinitionsError";
  }
}

/** Parses a stored definitions set; throws AudienceDefinitionsError naming what is wrong. */
export function parseAudienceDefinitions(text: string, where: string): AudienceDefinitions {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AudienceDefinitionsError(`${where} is not JSON`);
  }
  const parsed = definitionsSchema.safeParse(json);
  if (!parsed.success) throw new AudienceDefinitionsError(`${where}: ${parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ")}`);
  const rfm = parsed.data.rfm === null ? null : parseRfmBoundaries(parsed.data.rfm);
  if (parsed.data.rfm !== null && rfm === null) throw new AudienceDefinitionsError(`${where}: rfm is not a set of RFM boundaries`);
  return { version: parsed.data.version, audiences: parsed.data.audiences as AudienceDefinition[], rfm };
}

/** A stored definitions set by version; null when Redis does not hold it. */
export async function readAudienceDefinitions(redis: RedisClient, layout: RedisLayout, version: string): Promise<AudienceDefinitions | null> {
  const text = await redis.hget(layout.audienceVersions(), version);
  return text === null ? null : parseAudienceDefinitions(text, `audience definitions ${version}`);
}

/** The latest definitions (an empty set before the first audience). */
export async function readCurrentAudiences(redis: RedisClient, layout: RedisLayout): Promise<AudienceDefinitions> {
  const version = await redis.get(layout.audienceCurrent());
  if (version === null) return { version: "d-0", audiences: [], rfm: null };
  const definitions = await readAudienceDefinitions(redis, layout, version);
  if (definitions === null) throw new AudienceDefinitionsError(`the current audience definitions ${version} are not in ${layout.audienceVersions()}`);
  return definitions;
}

const SAVE_SCRIPT = `
local current = redis.call('GET', KEYS[1]) or 'd-0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

/**
 * Stores the next definitions set if the current one is still `expected` (compare and set): the
 * set under a new version, then the pointer. Returns the stored set, or null when another writer
 * changed the definitions first (read them again and retry; the number it drew stays unused).
 * A stored set has reached REDIS_WAIT_REPLICAS replicas: its activation record may be sent.
 */
export async function saveAudienceDefinitions(
  redis: RedisClient,
  layout: RedisLayout,
  expected: string,
  audiences: readonly AudienceDefinition[],
  rfm: RfmBoundaries | null,
): Promise<AudienceDefinitions | null> {
  const version = `d-${await redis.incr(layout.audienceSequence())}`;
  const definitions: AudienceDefinitions = { version, audiences, rfm };
  const text = JSON.stringify(definitions);
  parseAudienceDefinitions(text, `audience definitions ${version}`);
  const saved = (await redis.eval(SAVE_SCRIPT, 2, layout.audienceCurrent(), layout.audienceVersions(), expected, version, text)) as number;
  if (saved !== 1) return null;
  await waitForReplicas(redis, layout.audienceCurrent());
  return definitions;
}

/**
 * Members of an audience now: the sum over partitions of its sorted sets. One ZCARD per partition,
 * sent together (the sets are in as many hash slots, so not one cluster pipeline).
 */
export async function audienceMemberCount(redis: RedisClient, layout: RedisLayout, partitions: number, audienceId: string): Promise<number> {
  const counts = await Promise.all(Array.from({ length: partitions }, (_, partition) => redis.zcard(layout.audienceMembers(partition, audienceId))));
  return counts.reduce((sum, count) => sum + count, 0);
}

export interface MemberPage {
  members: string[];
  /** Where the next page starts; null after the last member. */
  cursor: string | null;
}

/**
 * One page of an audience's members, partition by partition and by customer id within each
 * (ZRANGEBYLEX after the last id seen). A customer lives in one partition and ids only grow along a
 * pass, so a pass never returns a customer twice, whatever enters or leaves meanwhile; members
 * that enter behind the cursor are not in this pass, members that leave ahead of it are not either.
 */
export async function audienceMembersPage(redis: RedisClient, layout: RedisLayout, partitions: number, audienceId: string, cursor: string | null, limit: number): Promise<MemberPage> {
  let { partition, after } = cursor === null ? { partition: 0, after: null as string | null } : decodeMemberCursor(cursor);
  const members: string[] = [];
  while (partition < partitions && members.length < limit) {
    const wanted = limit - members.length;
    const page = await redis.zrangebylex(layout.audienceMembers(partition, audienceId), after === null ? "-" : `(${after}`, "+", "LIMIT", 0, wanted);
    members.push(...page);
    if (page.length === wanted) {
      after = page[page.length - 1]!;
      break;
    }
    partition++;
    after = null;
  }
  if (partition >= partitions) return { members, cursor: null };
  return { members, cursor: encodeMemberCursor(partition, after) };
}

/** Cursors are opaque to clients: base64url of the partition and the last id seen there. */
export function encodeMemberCursor(partition: number, after: string | null): string {
  return Buffer.from(JSON.stringify([partition, after]), "utf8").toString("base64url");
}

export function decodeMemberCursor(cursor: string): { partition: number; after: string | null } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new RangeError("not a member cursor");
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Number.isInteger(parsed[0]) || (parsed[0] as number) < 0 || (parsed[1] !== null && typeof parsed[1] !== "string")) {
    throw new RangeError("not a member cursor");
  }
  return { partition: parsed[0] as number, after: parsed[1] as string | null };
}
