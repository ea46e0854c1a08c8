/**
 * The one atomic write of the processor. State updates, timer index, outbox,
 * history, the applied input offset and the event-time watermark change together
 * or not at all, fenced by the partition's write sequence: a writer that read an
 * older `seq` (a zombie after a rebalance, or a timer sweep racing a batch) is
 * refused and must reload.
 *
 * KEYS: meta, timers, outbox, state₁…stateₙ, history₁…historyₘ (only customers with a stage change here),
 *       members₁…membersₐ (audience member sets with an entry or exit here)
 * ARGV: expectedSeq, newOffset|"", newWatermark|"", historyCap, then packed:
 *       state × n (in key order), (deadline, customerId) × scheduled, customerId × unscheduled,
 *       outbox entries, (count, entry × count) × m for the history keys in order (oldest entry first),
 *       (field, value) × meta fields to set with the write ("" deletes the field),
 *       then for each members key in order: (added count, customerId × added, removed count, customerId × removed)
 *       — ARGV[11], with ARGV[12] = a (the number of members keys at the end of KEYS)
 * Packed: a MessagePack array of strings (StateStore's PackedValues), unpacked by Redis's cmsgpack.
 * Returns {1, newSeq} or {0, currentSeq} when fenced off.
 *
 * Sections are laid out so that each becomes a few variadic calls (MSET, ZADD, ZREM, RPUSH, LPUSH)
 * of at most CHUNK values: one redis.call per customer and per stage change cost Redis more in
 * the script than in the commands themselves (~4.5 ms per 1,100 items). CHUNK stays far below
 * Lua's limit on unpacked values (~8,000).
 */
export const COMMIT_SCRIPT = `
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if seq ~= tonumber(ARGV[1]) then return {0, seq} end
local CHUNK = 1000
-- The values of a packed argument (a MessagePack array of strings), in order, and how many.
local function values(packed)
  local list = cmsgpack.unpack(packed)
  return list, #list
end
-- command [key] list[first .. first + count - 1], CHUNK values per call (even: MSET and ZADD pairs stay whole); the last reply.
local function chunked(command, key, list, first, count)
  local reply
  for offset = 0, count - 1, CHUNK do
    local last = first + math.min(offset + CHUNK, count) - 1
    if key then reply = redis.call(command, key, unpack(list, first + offset, last))
    else reply = redis.call(command, unpack(list, first + offset, last)) end
  end
  return reply
end
local cap = tonumber(ARGV[4])
local states, n = values(ARGV[5])
local kv, size = {}, 0
for i = 1, n do
  kv[size + 1] = KEYS[3 + i]
  kv[size + 2] = states[i]
  size = size + 2
end
chunked('MSET', nil, kv, 1, size)
local scheduled, scheduledCount = values(ARGV[6])
chunked('ZADD', KEYS[2], scheduled, 1, scheduledCount)
local unscheduled, unscheduledCount = values(ARGV[7])
chunked('ZREM', KEYS[2], unscheduled, 1, unscheduledCount)
local outbox, outboxCount = values(ARGV[8])
chunked('RPUSH', KEYS[3], outbox, 1, outboxCount)
local history = values(ARGV[9])
local memberKeys = tonumber(ARGV[12] or '0')
local at = 1
for g = 1, #KEYS - 3 - n - memberKeys do
  local key = KEYS[3 + n + g]
  local count = tonumber(history[at])
  if cap > 0 and chunked('LPUSH', key, history, at + 1, count) > cap then redis.call('LTRIM', key, 0, cap - 1) end
  at = at + 1 + count
end
if memberKeys > 0 then
  local members = values(ARGV[11])
  local position = 1
  for g = #KEYS - memberKeys + 1, #KEYS do
    local added = tonumber(members[position])
    if added > 0 then
      local entries = {}
      for i = 1, added do
        entries[2 * i - 1] = '0'
        entries[2 * i] = members[position + i]
      end
      chunked('ZADD', KEYS[g], entries, 1, 2 * added)
    end
    position = position + 1 + added
    local removed = tonumber(members[position])
    if removed > 0 then chunked('ZREM', KEYS[g], members, position + 1, removed) end
    position = position + 1 + removed
  end
end
seq = seq + 1
redis.call('HSET', KEYS[1], 'seq', seq)
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'offset', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'watermark', ARGV[3]) end
local fields, fieldCount = values(ARGV[10])
for i = 1, fieldCount, 2 do
  if fields[i + 1] == '' then redis.call('HDEL', KEYS[1], fields[i])
  else redis.call('HSET', KEYS[1], fields[i], fields[i + 1]) end
end
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

/**
 * One step of a SCAN over a partition's customer states. KEYS: the partition's meta (never read:
 * it makes a cluster client send the script to the node holding the partition, and follow the
 * partition after a failover). ARGV: cursor, MATCH pattern, COUNT.
 *
 * A SCAN cursor means something only to the process that made it: the hash seed and table sizes
 * differ on a replica and after a restart, so another process's cursor would skip customers. The
 * cursor returned is therefore "<run_id>:<cursor>", and a cursor of another run id (a failover or
 * restart since the last step) begins the scan again; "0" begins it, and a bare number (written
 * before cursors carried a run id) is taken as it is. The sweeps this serves are idempotent: a
 * customer met twice is left as it is the second time.
 * Returns {next cursor ("0" when done), keys, 1 if the scan began again else 0}.
 */
export const SCAN_CUSTOMERS_SCRIPT = `
local run = string.match(redis.call('INFO', 'server'), 'run_id:(%w+)')
local cursor = ARGV[1]
local restarted = 0
local at = string.find(cursor, ':', 1, true)
if at then
  if string.sub(cursor, 1, at - 1) == run then cursor = string.sub(cursor, at + 1)
  else
    cursor = '0'
    restarted = 1
  end
end
local reply = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local next = reply[1]
if next ~= '0' then next = run .. ':' .. next end
return {next, reply[2], restarted}
`;
