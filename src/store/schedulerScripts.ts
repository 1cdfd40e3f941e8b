/**
 * Lua scripts of the delayed-job scheduler (docs/SCHEDULER.md). Each states its KEYS and ARGV.
 */

/**
 * resque-scheduler's acquire script, character for character (lock/resilient.rb), so its SHA is
 * Ruby's: `8f4a4e422bfa8f9a0931e350d6e30b1c3ce97c33` for 180 s [captured s2, s5]. The timeout is
 * part of the text, as in Ruby. KEYS[1] the lock; ARGV[1] `host:pid`. Returns 1 when acquired.
 */
export function lockAcquireLua(timeoutSeconds: number): string {
  return `if redis.call('SETNX', KEYS[1], ARGV[1]) == 1\nthen\n  redis.call('EXPIRE', KEYS[1], ${timeoutSeconds})\n  return 1\nelse\n  return 0\nend\n`;
}

/**
 * resque-scheduler's `locked?` script (compare-and-expire), character for character: SHA
 * `8d4e4994f7049799013e71b43d439219209e9f57` for 180 s. KEYS[1] the lock; ARGV[1] `host:pid`.
 * Returns 1 when this value holds the lock (its TTL re-armed).
 */
export function lockRenewLua(timeoutSeconds: number): string {
  return `if redis.call('GET', KEYS[1]) == ARGV[1]\nthen\n  redis.call('EXPIRE', KEYS[1], ${timeoutSeconds})\n\n  if redis.call('GET', KEYS[1]) == ARGV[1]\n  then\n    return 1\n  end\nend\n\nreturn 0\n`;
}

/**
 * Release: compare-and-delete in one step (Ruby sends `locked?` then DEL; the effect is the
 * same, this has no gap). KEYS[1] the lock; ARGV[1] `host:pid`. Returns 1 when it was ours.
 */
export const LOCK_RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/**
 * Classifies one delayed item: returns its queue, or nil and why it is poison (not JSON, not an
 * object, no string class, no queue: the four cases Ruby loses or dies on [captured s7]). `args`
 * is not judged: the bytes move as they are and the worker decides (Ruby's worker runs
 * `"args":"str"` as perform("str"); pyres-ts's records it as a PayloadDecodeError). `map` is the
 * class -> queue map for items without a `queue` (pyres-ts --class-queue; Ruby: the class's @queue).
 */
const CLASSIFY = `
local function classify(raw, map)
  local ok, v = pcall(cjson.decode, raw)
  if not ok then return nil, 'not JSON', '' end
  if v == cjson.null then return nil, 'JSON null', '' end
  if type(v) ~= 'table' then return nil, 'not a JSON object', '' end
  local q = v['queue']
  if type(q) ~= 'string' or q == '' then q = nil end
  local c = v['class']
  if type(c) ~= 'string' or c == '' then return nil, 'no class', q or '' end
  if q == nil then
    local m = map[c]
    if type(m) == 'string' and m ~= '' then q = m end
  end
  if q == nil then return nil, 'no queue (the item has none and --class-queue names none for ' .. c .. ')', '' end
  return q, nil, q
end
`;

/**
 * Moves (up to a batch of) the items of ONE timestamp to their queues, atomically.
 *
 * KEYS[1] delayed_queue_schedule   KEYS[2] queues (set)   KEYS[3] the poison holding list
 * ARGV[1] the namespace prefix ('resque:')
 * ARGV[2] batch size (items per call)
 * ARGV[3] class -> queue map, JSON ('{}')
 * ARGV[4] a timestamp (zset member) to move now whatever its time, or '' = the first DUE one by
 *         Redis TIME (`ZRANGEBYSCORE -inf <TIME> LIMIT 0 1`, as Ruby with its own clock)
 *
 * Per item, in list order: `SREM timestamps:<raw> delayed:<ts>` (as Ruby), then either `SADD queues
 * <q>` + `RPUSH queue:<q> <raw>`, the item's bytes unchanged (every extra field kept), or (poison)
 * `RPUSH <holding> "<ts>\n<why>\n<queue>\n<raw>"`. Then `LTRIM` the batch off; an emptied list is
 * DELeted and its zset member ZREMed (an orphan member, no list, is removed at once).
 * Returns {moved, poison, left in the list, TIME seconds, TIME microseconds, ts or ''}.
 */
export const MOVE_DELAYED = `${CLASSIFY}
local now = redis.call('TIME')
local ts = ARGV[4]
if ts == '' then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now[1], 'LIMIT', 0, 1)
  if #due == 0 then return {0, 0, 0, now[1], now[2], ''} end
  ts = due[1]
end
local member = 'delayed:' .. ts
local list = ARGV[1] .. member
local n = tonumber(ARGV[2])
local items = redis.call('LRANGE', list, 0, n - 1)
local map = cjson.decode(ARGV[3])
local moved, poison = 0, 0
for _, raw in ipairs(items) do
  redis.call('SREM', ARGV[1] .. 'timestamps:' .. raw, member)
  local q, why, pq = classify(raw, map)
  if q then
    redis.call('SADD', KEYS[2], q)
    redis.call('RPUSH', ARGV[1] .. 'queue:' .. q, raw)
    moved = moved + 1
  else
    redis.call('RPUSH', KEYS[3], ts .. '\\n' .. why .. '\\n' .. pq .. '\\n' .. raw)
    poison = poison + 1
  end
end
if #items > 0 then redis.call('LTRIM', list, #items, -1) end
local left = redis.call('LLEN', list)
if left == 0 then
  redis.call('DEL', list)
  redis.call('ZREM', KEYS[1], ts)
end
return {moved, poison, left, now[1], now[2], ts}
`;

/**
 * One item of a timestamp, by its exact bytes: removed (ARGV[3] = '0') or pushed to its queue now
 * (ARGV[3] = '1'), as resque-web's Delayed tab does (`remove_delayed_job_from_timestamp` /
 * "Queue now"). The `timestamps:` member is removed and an emptied timestamp cleaned.
 *
 * KEYS[1] delayed_queue_schedule   KEYS[2] queues   KEYS[3] the poison holding list
 * ARGV[1] namespace prefix   ARGV[2] ts   ARGV[3] '0' remove | '1' queue now   ARGV[4] the item
 * ARGV[5] class -> queue map (JSON)
 * Returns {found 0|1, queue or '' (queue now), poison 0|1}.
 */
export const TAKE_DELAYED_ITEM = `${CLASSIFY}
local member = 'delayed:' .. ARGV[2]
local list = ARGV[1] .. member
local raw = ARGV[4]
if redis.call('LREM', list, 1, raw) == 0 then return {0, '', 0} end
redis.call('SREM', ARGV[1] .. 'timestamps:' .. raw, member)
local out = {1, '', 0}
if ARGV[3] == '1' then
  local q, why, pq = classify(raw, cjson.decode(ARGV[5]))
  if q then
    redis.call('SADD', KEYS[2], q)
    redis.call('RPUSH', ARGV[1] .. 'queue:' .. q, raw)
    out = {1, q, 0}
  else
    redis.call('RPUSH', KEYS[3], ARGV[2] .. '\\n' .. why .. '\\n' .. pq .. '\\n' .. raw)
    out = {1, '', 1}
  end
end
if redis.call('LLEN', list) == 0 then
  redis.call('DEL', list)
  redis.call('ZREM', KEYS[1], ARGV[2])
end
return out
`;

/**
 * Turns one parked poison entry into its failure record: `LREM <holding> 1 <entry>`, and only
 * when it was there `RPUSH <failure list> <record>` (so two schedulers, or a resend, write it once).
 * KEYS[1] the holding list  KEYS[2] the failure list  KEYS[3] failed_queues or absent (redis_multi_queue)
 * ARGV[1] the entry  ARGV[2] the record  ARGV[3] the failure list's name (for failed_queues)
 * Returns 1 when recorded.
 */
export const RECORD_POISON = `if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
if KEYS[3] then redis.call('SADD', KEYS[3], ARGV[3]) end
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
`;
