import { createHash } from "node:crypto";
import { renameLegacyKeys, waitForReplicas, type RedisClient } from "@clm/redis";
import type { Destination } from "./destination.ts";
import { laneOf, WebhookKeys } from "./keys.ts";

/** One signal queued for one destination. Stored as JSON; `body` is the exact text signed and sent. */
export interface QueuedMessage {
  id: string;
  type: string;
  customerId: string;
  /** When the signal was created: its Kafka record's timestamp (ms). */
  createdAt: number;
  body: string;
}

/** What earlier tries of a message left: how many, since when, and the last failure. */
export interface Tries {
  attempts: number;
  firstAttemptAt: number;
  lastError: string;
}

export interface ClaimedLane {
  lane: number;
  /** The lane's head, up to maxBatch messages, in order. */
  messages: { message: QueuedMessage; tries: Tries | null }[];
}

export interface DeadLetter {
  id: string;
  lane: number;
  message: QueuedMessage;
  reason: "permanent" | "expired";
  attempts: number;
  firstAttemptAt: number;
  lastError: string;
  deadAt: number;
}

export interface QueueStats {
  queued: number;
  /** Creation time of the oldest undelivered message, or null when none waits. */
  oldestCreatedAt: number | null;
  deadLetters: number;
}

/** A Lua script run by its SHA, loaded on the first NOSCRIPT (after a restart of Redis too). */
class Script {
  private readonly sha: string;
  constructor(private readonly lua: string) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }
  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error).message).includes("NOSCRIPT")) throw error;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

// Each script below runs alone in Redis, so a message is in exactly one place at every instant: its
// lane (and the msg hash), or the dead letters. Every script touches one destination's keys only,
// which share its hash tag (keys.ts): one slot, so one cluster node runs it, and lane keys can be
// built in the scripts from the lane prefix.

/** KEYS per message (all of one destination): msg, lane, due, age. ARGV: now, then per message: id, lane, json, createdAt. */
const ENQUEUE = new Script(`
local added = 0
for i = 0, #KEYS / 4 - 1 do
  local k = i * 4
  local a = i * 4 + 1
  if redis.call('HSETNX', KEYS[k + 1], ARGV[a + 1], ARGV[a + 3]) == 1 then
    if redis.call('RPUSH', KEYS[k + 2], ARGV[a + 1]) == 1 then redis.call('ZADD', KEYS[k + 3], 'NX', ARGV[1], ARGV[a + 2]) end
    redis.call('ZADD', KEYS[k + 4], ARGV[a + 4], ARGV[a + 1])
    added = added + 1
  end
end
return added`);

/** KEYS: due, msg, tries. ARGV: now, leaseUntil, maxLanes, maxBatch, lanePrefix. A claimed lane's due time becomes its lease's end. */
const CLAIM = new Script(`
local lanes = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, lane in ipairs(lanes) do
  local ids = redis.call('LRANGE', ARGV[5] .. lane, 0, tonumber(ARGV[4]) - 1)
  if #ids == 0 then
    redis.call('ZREM', KEYS[1], lane)
  else
    redis.call('ZADD', KEYS[1], ARGV[2], lane)
    table.insert(out, { lane, ids, redis.call('HMGET', KEYS[2], unpack(ids)), redis.call('HMGET', KEYS[3], unpack(ids)) })
  end
end
return out`);

/** Whether the lane's head is still these ids (a holder whose lease ran out finds it moved on). */
const HEAD_MATCHES = `
local function head_matches(lane, first, last)
  local head = redis.call('LRANGE', lane, 0, last - first)
  for i = first, last do if head[i - first + 1] ~= ARGV[i] then return false end end
  return true
end
local function release(lane, due, laneNo, at)
  if redis.call('LLEN', lane) > 0 then redis.call('ZADD', due, at, laneNo) else redis.call('ZREM', due, laneNo) end
end`;

/**
 * KEYS: lane, msg, due, age, tries. ARGV: laneNo, now, leaseUntil, maxBatch, ids… Removes the
 * delivered head. With leaseUntil > 0 and more messages waiting, the lane stays leased and its next
 * head comes back (the holder goes on without another claim); otherwise the lane is due now.
 */
const ACK = new Script(`${HEAD_MATCHES}
if not head_matches(KEYS[1], 5, #ARGV) then return 0 end
redis.call('LTRIM', KEYS[1], #ARGV - 4, -1)
for i = 5, #ARGV do
  redis.call('HDEL', KEYS[2], ARGV[i])
  redis.call('ZREM', KEYS[4], ARGV[i])
  redis.call('HDEL', KEYS[5], ARGV[i])
end
if tonumber(ARGV[3]) > 0 then
  local ids = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[4]) - 1)
  if #ids > 0 then
    redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
    return { ids, redis.call('HMGET', KEYS[2], unpack(ids)), redis.call('HMGET', KEYS[5], unpack(ids)) }
  end
end
release(KEYS[1], KEYS[3], ARGV[1], ARGV[2])
return 1`);

/** KEYS: lane, due, tries. ARGV: laneNo, nextAt, count, ids…, tries… The head stays; the lane waits until nextAt. */
const RETRY = new Script(`${HEAD_MATCHES}
local n = tonumber(ARGV[3])
if not head_matches(KEYS[1], 4, 3 + n) then return 0 end
for i = 1, n do redis.call('HSET', KEYS[3], ARGV[3 + i], ARGV[3 + n + i]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1`);

/** KEYS: lane, msg, due, age, tries, dead, deadOrder. ARGV: laneNo, now, count, ids…, entries… The head moves to the dead letters; the lane goes on. */
const DEAD = new Script(`${HEAD_MATCHES}
local n = tonumber(ARGV[3])
if not head_matches(KEYS[1], 4, 3 + n) then return 0 end
redis.call('LTRIM', KEYS[1], n, -1)
for i = 1, n do
  local id = ARGV[3 + i]
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('HSET', KEYS[6], id, ARGV[3 + n + i])
  redis.call('ZADD', KEYS[7], ARGV[2], id)
end
release(KEYS[1], KEYS[3], ARGV[1], ARGV[2])
return 1`);

/** KEYS: dead, deadOrder, msg, due, age. ARGV: now, lanePrefix, ids… Back to the tail of their lanes. */
const REPLAY = new Script(`
local moved = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local text = redis.call('HGET', KEYS[1], id)
  if text then
    local entry = cjson.decode(text)
    local lane = tostring(entry.lane)
    if redis.call('HSETNX', KEYS[3], id, cjson.encode(entry.message)) == 1 then
      if redis.call('RPUSH', ARGV[2] .. lane, id) == 1 then redis.call('ZADD', KEYS[4], 'NX', ARGV[1], lane) end
      redis.call('ZADD', KEYS[5], entry.message.createdAt, id)
    end
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    moved = moved + 1
  end
end
return moved`);

const ENQUEUE_CHUNK = 500;

function headOf(messages: readonly (string | null)[], tries: readonly (string | null)[]): ClaimedLane["messages"] {
  return messages.flatMap((text, index) => (text === null ? [] : [{ message: JSON.parse(text) as QueuedMessage, tries: parseTries(tries[index] ?? null) }]));
}

const parseTries = (text: string | null): Tries | null => {
  if (text === null) return null;
  const [attempts, firstAttemptAt, ...error] = text.split(":");
  return { attempts: Number(attempts), firstAttemptAt: Number(firstAttemptAt), lastError: error.join(":") };
};

/**
 * The durable delivery state of every destination in Redis: per destination, lanes of message ids
 * (a customer's messages share a lane, so they leave in order; a failing head holds only its lane),
 * a schedule of when each lane's head may be tried, tries, and dead letters.
 */
export class DeliveryQueue {
  readonly keys: WebhookKeys;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.keys = new WebhookKeys(prefix);
  }

  /**
   * Renames a single server's queue keys of these destinations from the layout before hash tags
   * (keys.ts) to their names now, once; a cluster cannot hold them. Returns how many were renamed.
   */
  async renameLegacyKeys(destinations: readonly Destination[]): Promise<number> {
    let renamed = 0;
    for (const destination of destinations) renamed += await renameLegacyKeys(this.redis, this.keys.legacyQueueKeys(destination.id, destination.lanes));
    return renamed;
  }

  /**
   * Appends each message to its lane of its destination, once (an id already queued there is
   * skipped); returns how many were added. One script per destination and chunk (a destination's
   * keys share a slot), each destination's then waited for until REDIS_WAIT_REPLICAS replicas
   * have it: once this returns, a failover cannot lose what it queued (the caller commits the
   * Kafka offsets of the signals next). A ReplicasBehindError leaves the messages queued on the
   * master; queueing them again is harmless.
   */
  async enqueue(entries: readonly { destination: Destination; message: QueuedMessage }[], now: number): Promise<number> {
    const byDestination = new Map<string, { destination: Destination; messages: QueuedMessage[] }>();
    for (const { destination, message } of entries) {
      const group = byDestination.get(destination.id);
      if (group) group.messages.push(message);
      else byDestination.set(destination.id, { destination, messages: [message] });
    }
    let added = 0;
    for (const { destination, messages } of byDestination.values()) {
      const of = this.keys.of(destination.id);
      for (let start = 0; start < messages.length; start += ENQUEUE_CHUNK) {
        const keys: string[] = [];
        const args: (string | number)[] = [now];
        for (const message of messages.slice(start, start + ENQUEUE_CHUNK)) {
          const lane = laneOf(message.customerId, destination.lanes);
          keys.push(of.msg, of.lane(lane), of.due, of.age);
          args.push(message.id, lane, JSON.stringify(message), message.createdAt);
        }
        added += Number(await ENQUEUE.run(this.redis, keys, args));
      }
      await waitForReplicas(this.redis, of.msg);
    }
    return added;
  }

  /**
   * Up to `maxLanes` lanes whose head is due, each leased until `leaseUntil` (no other claim sees it
   * before; a holder that dies leaves it to be claimed again then), with up to maxBatch head messages.
   */
  async claim(destination: Destination, now: number, leaseUntil: number, maxLanes: number): Promise<ClaimedLane[]> {
    const of = this.keys.of(destination.id);
    const rows = (await CLAIM.run(this.redis, [of.due, of.msg, of.tries], [now, leaseUntil, maxLanes, destination.maxBatch, of.lanePrefix])) as [string, string[], (string | null)[], (string | null)[]][];
    return rows.map(([lane, , messages, tries]) => ({ lane: Number(lane), messages: headOf(messages, tries) }));
  }

  /**
   * The lane's head `ids` were delivered: removed. With `next`, a lane with more messages stays
   * leased and its next head is returned; otherwise the lane is due at once. `acked` is false when
   * the head had moved on (another holder after this one's lease ran out).
   */
  async ack(destinationId: string, lane: number, ids: readonly string[], now: number, next?: { leaseUntil: number; maxBatch: number }): Promise<{ acked: boolean; next: ClaimedLane | null }> {
    const of = this.keys.of(destinationId);
    const answer = await ACK.run(this.redis, [of.lane(lane), of.msg, of.due, of.age, of.tries], [lane, now, next?.leaseUntil ?? 0, next?.maxBatch ?? 1, ...ids]);
    if (!Array.isArray(answer)) return { acked: Number(answer) === 1, next: null };
    const [, messages, tries] = answer as [string[], (string | null)[], (string | null)[]];
    return { acked: true, next: { lane, messages: headOf(messages, tries) } };
  }

  /** The head failed and is tried again at `nextAt`; its tries are recorded. */
  async retry(destinationId: string, lane: number, tries: readonly { id: string; tries: Tries }[], nextAt: number): Promise<boolean> {
    const of = this.keys.of(destinationId);
    const args = [lane, nextAt, tries.length, ...tries.map((entry) => entry.id), ...tries.map(({ tries: t }) => `${t.attempts}:${t.firstAttemptAt}:${t.lastError}`)];
    return Number(await RETRY.run(this.redis, [of.lane(lane), of.due, of.tries], args)) === 1;
  }

  /** The head goes to the dead letters and the lane goes on. */
  async deadLetter(destinationId: string, lane: number, letters: readonly DeadLetter[], now: number): Promise<boolean> {
    const of = this.keys.of(destinationId);
    const args = [lane, now, letters.length, ...letters.map((letter) => letter.id), ...letters.map((letter) => JSON.stringify(letter))];
    return Number(await DEAD.run(this.redis, [of.lane(lane), of.msg, of.due, of.age, of.tries, of.dead, of.deadOrder], args)) === 1;
  }

  /** Dead letters, oldest first. */
  async deadLetters(destinationId: string, options: { offset?: number; limit?: number } = {}): Promise<DeadLetter[]> {
    const of = this.keys.of(destinationId);
    const offset = options.offset ?? 0;
    const ids = await this.redis.zrange(of.deadOrder, offset, offset + (options.limit ?? 100) - 1);
    if (ids.length === 0) return [];
    return (await this.redis.hmget(of.dead, ...ids)).flatMap((text) => (text === null ? [] : [JSON.parse(text) as DeadLetter]));
  }

  /** Puts dead letters (these ids, or all) back at the tail of their lanes, oldest first; returns how many. */
  async replay(destinationId: string, ids: readonly string[] | undefined, now: number): Promise<number> {
    const of = this.keys.of(destinationId);
    let moved = 0;
    const chosen = ids ?? (await this.redis.zrange(of.deadOrder, 0, -1));
    for (let start = 0; start < chosen.length; start += ENQUEUE_CHUNK) {
      moved += Number(await REPLAY.run(this.redis, [of.dead, of.deadOrder, of.msg, of.due, of.age], [now, of.lanePrefix, ...chosen.slice(start, start + ENQUEUE_CHUNK)]));
    }
    return moved;
  }

  async stats(destinationId: string): Promise<QueueStats> {
    const of = this.keys.of(destinationId);
    const [queued, head, dead] = await Promise.all([this.redis.zcard(of.age), this.redis.zrange(of.age, 0, 0, "WITHSCORES"), this.redis.zcard(of.deadOrder)]);
    return { queued, oldestCreatedAt: head.length === 2 ? Number(head[1]) : null, deadLetters: dead };
  }

  /** When the earliest lane is due (ms), or null when no lane holds a message. */
  async nextDue(destinationId: string): Promise<number | null> {
    const first = await this.redis.zrange(this.keys.of(destinationId).due, 0, 0, "WITHSCORES");
    return first.length === 2 ? Number(first[1]) : null;
  }
}
