/**
 * The one atomic write of the processor. State updates, timer index, outbox,
 * history, the applied input offset and the event-time watermark change together
 * or not at all, fenced by the partition's write sequence: a writer that read an
 * older `seq` (a zombie after a rebalance, or a timer sweep racing a batch) is
 * refused and must reload.
 *
 * KEYS: meta, timers, outbox, state₁…stateₙ, history₁…historyₘ (only customers with a stage change here)
 * ARGV: expectedSeq, newOffset|"", newWatermark|"", n, outboxCount, historyCap,
 *       (state, deadline|"", customerId) × n, outbox entries…, historyCount, (historyKeyIndex, encoded history entry) × historyCount
 * Returns {1, newSeq} or {0, currentSeq} when fenced off.
 */
export const COMMIT_SCRIPT = `
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if seq ~= tonumber(ARGV[1]) then return {0, seq} end
local n = tonumber(ARGV[4])
local outboxCount = tonumber(ARGV[5])
local cap = tonumber(ARGV[6])
local a = 7
for i = 1, n do
  redis.call('SET', KEYS[3 + i], ARGV[a])
  if ARGV[a + 1] == '' then
    redis.call('ZREM', KEYS[2], ARGV[a + 2])
  else
    redis.call('ZADD', KEYS[2], ARGV[a + 1], ARGV[a + 2])
  end
  a = a + 3
end
for i = 1, outboxCount do
  redis.call('RPUSH', KEYS[3], ARGV[a])
  a = a + 1
end
local historyCount = tonumber(ARGV[a])
a = a + 1
for i = 1, historyCount do
  if cap > 0 then
    local key = KEYS[3 + n + tonumber(ARGV[a])]
    redis.call('LPUSH', key, ARGV[a + 1])
    redis.call('LTRIM', key, 0, cap - 1)
  end
  a = a + 2
end
seq = seq + 1
redis.call('HSET', KEYS[1], 'seq', seq)
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'offset', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'watermark', ARGV[3]) end
return {1, seq}
`;

/**
 * Removes published entries from the head of an outbox, but only while the head is still
 * exactly what was published: two drainers racing (after a rebalance) can then duplicate a
 * publish, never drop one. Every entry is unique (it carries its transition id), so the first
 * and the last published entry at their places identify the whole run without sending it back.
 * KEYS: outbox. ARGV: count, first entry, last entry. Returns how many were removed (count or 0).
 */
export const ACK_OUTBOX_SCRIPT = `
local count = tonumber(ARGV[1])
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[2] then return 0 end
if redis.call('LINDEX', KEYS[1], count - 1) ~= ARGV[3] then return 0 end
redis.call('LTRIM', KEYS[1], count, -1)
return count
`;
