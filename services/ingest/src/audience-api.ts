import type { IncomingMessage } from "node:http";
import { randomUUID } from "node:crypto";
import { audienceInputSchema, type AudienceDefinition, type RfmBoundaries } from "@clm/core";
import { audienceMemberCount, audienceMembersPage, decodeMemberCursor, readCurrentAudiences, saveAudienceDefinitions, type RedisLayout } from "@clm/state-store";
import { ReplicasBehindError, type RedisClient } from "@clm/redis";
import { bodyFormat, readBody } from "./body.ts";
import { IngestError, type FieldProblem } from "./errors.ts";

export interface AudienceApiDeps {
  redis: RedisClient;
  layout: RedisLayout;
  /** Partitions of the input topic: member sets are kept per partition. */
  partitions: number;
  /** Sends the activation records of a stored definitions version to every partition. */
  activate: (version: string) => Promise<number>;
  /** The population RFM boundaries now, frozen into each definitions version. */
  rfmBoundaries: () => RfmBoundaries | null;
  maxBytes: number;
}

export interface AudienceAnswer extends AudienceDefinition {
  /** Members now, as the stream keeps them (it applies a change once it reaches its control record). */
  memberCount: number;
  /** The definitions version this answer was read from. */
  definitionsVersion: string;
}

/**
 * The audience API (docs/audiences.md): definitions are stored in Redis by version and reach the
 * stream as control records, in order with the events; members are read from the processor's
 * member sets. Writes need an admin key, reads a read key (server.ts).
 */
export class AudienceApi {
  constructor(private readonly deps: AudienceApiDeps) {}

  async list(): Promise<{ definitionsVersion: string; audiences: AudienceAnswer[] }> {
    const current = await readCurrentAudiences(this.deps.redis, this.deps.layout);
    const audiences: AudienceAnswer[] = [];
    for (const audience of current.audiences) audiences.push(await this.answer(audience, current.version));
    return { definitionsVersion: current.version, audiences };
  }

  async get(id: string): Promise<AudienceAnswer> {
    const current = await readCurrentAudiences(this.deps.redis, this.deps.layout);
    const audience = current.audiences.find((candidate) => candidate.id === id);
    if (audience === undefined) throw new IngestError("NOT_FOUND", `audience ${id}`);
    return this.answer(audience, current.version);
  }

  async create(request: IncomingMessage): Promise<AudienceAnswer> {
    const input = await this.input(request);
    const id = input.id ?? `aud-${randomUUID().slice(0, 8)}`;
    return this.change((audiences) => {
      if (audiences.some((audience) => audience.id === id)) throw new IngestError("AUDIENCE_EXISTS", `audience ${id}`);
      const created: AudienceDefinition = { id, version: 1, name: input.name, filter: input.filter };
      return { audiences: [...audiences, created], changed: created };
    });
  }

  async replace(id: string, request: IncomingMessage): Promise<AudienceAnswer> {
    const input = await this.input(request);
    if (input.id !== undefined && input.id !== id) throw new IngestError("INVALID_AUDIENCE", undefined, [{ path: "id", code: "ID_MISMATCH", message: `the body's id ${input.id} is not the path's ${id}` }]);
    return this.change((audiences) => {
      const existing = audiences.find((audience) => audience.id === id);
      if (existing === undefined) throw new IngestError("NOT_FOUND", `audience ${id}`);
      const replaced: AudienceDefinition = { id, version: existing.version + 1, name: input.name, filter: input.filter };
      return { audiences: audiences.map((audience) => (audience.id === id ? replaced : audience)), changed: replaced };
    });
  }

  async remove(id: string): Promise<{ id: string; definitionsVersion: string }> {
    const answer = await this.change((audiences) => {
      const existing = audiences.find((audience) => audience.id === id);
      if (existing === undefined) throw new IngestError("NOT_FOUND", `audience ${id}`);
      return { audiences: audiences.filter((audience) => audience.id !== id), changed: existing };
    });
    return { id, definitionsVersion: answer.definitionsVersion };
  }

  async members(id: string, cursorText: string | null, limitText: string | null): Promise<{ audienceId: string; members: string[]; nextCursor: string | null }> {
    const limit = limitText === null ? 100 : /^\d{1,4}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= 1000)) throw new IngestError("INVALID_PARAMETER", `limit must be an integer 1..1000, got ${JSON.stringify(limitText)}`);
    if (cursorText !== null) {
      try {
        if (decodeMemberCursor(cursorText).partition >= this.deps.partitions) throw new RangeError("partition out of range");
      } catch {
        throw new IngestError("INVALID_CURSOR");
      }
    }
    await this.get(id);
    const page = await audienceMembersPage(this.deps.redis, this.deps.layout, this.deps.partitions, id, cursorText, limit);
    return { audienceId: id, members: page.members, nextCursor: page.cursor };
  }

  private async answer(audience: AudienceDefinition, definitionsVersion: string): Promise<AudienceAnswer> {
    return { ...audience, memberCount: await audienceMemberCount(this.deps.redis, this.deps.layout, this.deps.partitions, audience.id), definitionsVersion };
  }

  private async input(request: IncomingMessage) {
    if (bodyFormat(request.headers["content-type"]) !== "json") throw new IngestError("UNSUPPORTED_MEDIA_TYPE", "send application/json");
    const body = await readBody(request, this.deps.maxBytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch (error) {
      throw new IngestError("INVALID_BODY", (error as Error).message);
    }
    const result = audienceInputSchema.safeParse(parsed);
    if (!result.success) throw new IngestError("INVALID_AUDIENCE", undefined, fieldProblems(result.error));
    return result.data;
  }

  /**
   * Applies `edit` to the current definitions and stores the result as a new version (compare and
   * set: a concurrent writer makes this read again and retry), then activates it in the stream.
   */
  private async change(edit: (audiences: readonly AudienceDefinition[]) => { audiences: AudienceDefinition[]; changed: AudienceDefinition }): Promise<AudienceAnswer> {
    const { redis, layout } = this.deps;
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await readCurrentAudiences(redis, layout);
      const { audiences, changed } = edit(current.audiences);
      let saved;
      try {
        saved = await saveAudienceDefinitions(redis, layout, current.version, audiences, this.deps.rfmBoundaries());
      } catch (error) {
        // Stored on the master but not on enough replicas: not activated (a failover could lose the set).
        if (error instanceof ReplicasBehindError) throw new IngestError("REDIS_REPLICAS_BEHIND", error.message);
        throw error;
      }
      if (saved === null) continue;
      await this.deps.activate(saved.version);
      return this.answer(changed, saved.version);
    }
    throw new IngestError("KAFKA_UNAVAILABLE", "the audience definitions kept changing under this request; retry");
  }
}

/** zod issues as field problems: the path, a stable code (the rule's own, or zod's in capitals) and the message. */
export function fieldProblems(error: { issues: readonly { path: readonly PropertyKey[]; code: string; message: string }[] }): FieldProblem[] {
  return error.issues.map((issue) => {
    const params = (issue as { params?: { code?: unknown } }).params;
    const code = typeof params?.code === "string" ? params.code : issue.code.toUpperCase();
    return { path: issue.path.map(String).join("."), code, message: issue.message };
  });
}
