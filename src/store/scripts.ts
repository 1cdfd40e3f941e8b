/**
 * Lua scripts. Each states its KEYS and ARGV. They run atomically, so a job is never popped
 * without being written to `worker:<id>` in the same step.
 */

/** Shared Lua helpers: JSON-string a value like JS JSON.stringify would for plain text. */
const LUA_HELPERS = String.raw`
-- A JSON string, escaped exactly as JavaScript's JSON.stringify escapes it.
local function jstr(s)
  if not string.find(s, '[%z\1-\31"\\]') then return '"' .. s .. '"' end
  local short = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
  local out = string.gsub(s, '[%z\1-\31"\\]', function(c)
    return short[c] or string.format('\\u%04x', string.byte(c))
  end)
  return '"' .. out .. '"'
end
-- What looks like a JSON object is embedded as received, anything else as a JSON string. The
-- worker parses every payload anyway, and rewrites the record at once when one that looked
-- like an object is not JSON (so no JSON parse runs here, inside Redis, per job).
local function working_on(queue, run_at, raw)
  local embed
  -- The common case (a compact object) is settled by two byte reads; the patterns only run for
  -- padded text (a '$'-anchored find tries every position, which is slow on a large payload).
  local first, last = string.byte(raw, 1), string.byte(raw, -1)
  local opens = first == 123 or (first ~= nil and first <= 32 and string.find(raw, '^[ \t\n\r]*{') ~= nil)
  local closes = last == 125 or (last ~= nil and last <= 32 and string.find(raw, '}[ \t\n\r]*$') ~= nil)
  if opens and closes then
    embed = raw
  else
    embed = jstr(raw)
  end
  return '{"queue":' .. jstr(queue) .. ',"run_at":"' .. run_at .. '","payload":' .. embed .. '}'
end
-- SET key to working_on(queue, run_at, raw), the same bytes. A large object payload is not
-- concatenated in Lua: SET of the head, then APPEND of the payload and of the closing brace.
-- Two commands more, but each copy of a large string through Lua costs more than a command
-- (10 KB: ~23 us against ~38 us for the whole step on Redis 7.0); small payloads are one SET.
local function set_working_on(key, queue, run_at, raw)
  if #raw >= 1024 and string.byte(raw, 1) == 123 and string.byte(raw, -1) == 125 then
    redis.call('SET', key, '{"queue":' .. jstr(queue) .. ',"run_at":"' .. run_at .. '","payload":')
    redis.call('APPEND', key, raw)
    redis.call('APPEND', key, '}')
  else
    redis.call('SET', key, working_on(queue, run_at, raw))
  end
end
`;

/**
 * finish-and-reserve. One round trip per job in steady state: records the outcome of the job
 * just done (exactly Resque's writes and order) and reserves the next one. A successful job and
 * the next reservation cost five commands inside the script: MGET (counter + pause flag),
 * INCRBY stat:processed, INCRBY stat:processed:<id>, LPOP, SET worker:<id> (payloads of 1 KB or
 * more: SET + APPEND + APPEND, see set_working_on).
 *
 * KEYS[1] worker:<id>        KEYS[2] stat:processed   KEYS[3] stat:processed:<id>
 * KEYS[4] stat:failed        KEYS[5] stat:failed:<id> KEYS[6] failed
 * KEYS[7] pause-all-workers  KEYS[8] queues (set)  KEYS[9] the job's queue (for requeue)
 * KEYS[10] (redis_multi_queue only) failed_queues: KEYS[6] is then `<ns>:<queue>_failed`, and
 *         its name (KEYS[6] without the namespace prefix) is SADDed here before the RPUSH, as Ruby.
 * Or four keys, the common step's layout (ARGV[1] '0' or '1', ARGV[7] not '1'; each key pushed
 * costs Redis ~1,300 instructions per call): KEYS[1..3] as above, KEYS[4] pause-all-workers.
 * ARGV[1] finish: '0' nothing, '1' success, '2' failure (ARGV[3] is the failed record),
 *         '3' dirty exit (failure record written, stat:failed not counted, as Ruby),
 *         '4' dirty exit, requeued: ARGV[3] (the raw payload) goes back to the head of KEYS[9]
 * ARGV[2] stat:processed:<id> as the worker last saw it. Idempotence guard: a script resent
 *         after a dropped connection finds the counter already one higher and finishes nothing.
 *         A counter that is MISSING while ARGV[2] > 0 means Redis lost our state (restarted
 *         without persistence, a failover to an empty replica, a wrongful prune): the outcome
 *         is still recorded, and the counter is SET to ARGV[2] + 1 (not INCRBY'd to 1), so a
 *         resend of this very script still finds "one higher" and finishes nothing.
 * ARGV[3] failure record ('' with mode '2': a retried failure under suppression, counted but not written)
 * ARGV[4] '1' reserve the next job, '0' do not
 * ARGV[5] run_at for the new working-on record
 * ARGV[6] queue key prefix, '<ns>:queue:'
 * ARGV[7] '0': ARGV[8..] are queue names in priority order.
 *         '1': ARGV[8..] are '+s<name>' (a name), '+g<lua pattern>' (a glob), '-g<lua pattern>' (skip).
 * Returns {status, processed_count, queue, payload, note}: status 'job', 'held' (worker:<id> already
 * holds a job, e.g. the reply to an earlier reserve was lost; value = the record), 'paused', 'empty', 'done'
 * (queue and payload '' where they do not apply). note: '' normally (including a resend that found
 * the outcome already recorded); 'lost' when the per-worker counter was missing (state wiped) and
 * the outcome was recorded anyway; 'unrecorded' when a finish was asked for and nothing was written.
 */
/**
 * Lua: fills the local `queues` from ARGV[first..] in priority order: `+s<name>` a plain queue,
 * `+g<Lua pattern>` every member of the `queues` set (KEYS entry `setKey`, sorted) that matches,
 * `-g<Lua pattern>` skips what matches (Ruby 3.0's globs and `!skip`). Shared by the reserve
 * scripts.
 */
function patternQueuesLua(first: number, setKey: string): string {
  return `  local members = nil
  local seen = {}
  for i = ${first}, #ARGV do
    local a = ARGV[i]
    local kind = string.sub(a, 1, 2)
    local body = string.sub(a, 3)
    if kind == '+s' then
      if not seen[body] then seen[body] = true; queues[#queues + 1] = body end
    elseif kind == '+g' then
      if not members then members = redis.call('SMEMBERS', ${setKey}); table.sort(members) end
      for _, q in ipairs(members) do
        if not seen[q] and string.find(q, body) then seen[q] = true; queues[#queues + 1] = q end
      end
    end
  end
  local kept = {}
  for _, q in ipairs(queues) do
    local skip = false
    for i = ${first}, #ARGV do
      local a = ARGV[i]
      if string.sub(a, 1, 2) == '-g' and string.find(q, string.sub(a, 3)) then skip = true end
    end
    if not skip then kept[#kept + 1] = q end
  end
  queues = kept
`;
}

/** FINISH_AND_RESERVE up to its pause check: shared with the baked variants (finishAndReserveBaked). */
const FINISH_HEAD = `${LUA_HELPERS}
local mode = ARGV[1]
-- The four-key layout (KEYS[4] the pause flag) is for nothing to finish or a success, from a
-- plain or baked queue list: nothing else reads KEYS[4..10] there.
if KEYS[7] == nil and ((mode ~= '0' and mode ~= '1') or ARGV[7] == '1') then
  return redis.error_reply('ERR a four-key finish-and-reserve step finishes nothing or a success, from a plain queue list')
end
-- One MGET reads the per-worker counter and the pause flag (a script is atomic: the flag read
-- here is the flag a later GET would have read; nothing below writes it).
local read = redis.call('MGET', KEYS[3], KEYS[7] or KEYS[4])
local stored = read[1] or nil
local pause = read[2] or nil
local count
-- finished: the job just done is recorded; worker:<id> still holds its record, and is either
-- overwritten by the next reservation or deleted (Resque's done_working) below.
local finished = false
local note = ''
-- Counts are sent as the strings '1' (a Lua number argument is formatted with %.17g per call).
if mode == '1' and stored == ARGV[2] then
  -- The common step, a success where the counter is what the worker saw: exactly what the
  -- general path below does for it (the same two INCRBYs, in Resque's order), without its
  -- number parsing. Any other counter text (missing, one higher, another spelling) goes below.
  redis.call('INCRBY', KEYS[2], '1')
  count = redis.call('INCRBY', KEYS[3], '1')
  finished = true
else
count = tonumber(stored or '0')
if mode ~= '0' then
  local expected = tonumber(ARGV[2])
  -- wiped: our counter is gone though we had counted jobs; Redis lost our state.
  local wiped = (not stored) and expected > 0
  if wiped or count == expected or (count ~= expected + 1 and redis.call('EXISTS', KEYS[1]) == 1) then
    if mode == '4' then
      redis.call('LPUSH', KEYS[9], ARGV[3])
      -- As Resque's push: the queue is listed in the queues set (it may be gone after a wipe).
      redis.call('SADD', KEYS[8], string.sub(KEYS[9], #ARGV[6] + 1))
    elseif mode == '2' or mode == '3' then
      -- An empty record: a failure a retry policy suppressed (counted below, not listed).
      if ARGV[3] ~= '' then
        -- redis_multi_queue: list the failure list first (prefix = KEYS[10] minus 'failed_queues').
        if KEYS[10] then redis.call('SADD', KEYS[10], string.sub(KEYS[6], #KEYS[10] - 12)) end
        redis.call('RPUSH', KEYS[6], ARGV[3])
      end
      if mode == '2' then
        redis.call('INCRBY', KEYS[4], '1')
        redis.call('INCRBY', KEYS[5], '1')
      end
    end
    redis.call('INCRBY', KEYS[2], '1')
    if wiped then
      count = expected + 1
      redis.call('SET', KEYS[3], count)
      note = 'lost'
    else
      count = redis.call('INCRBY', KEYS[3], '1')
    end
    finished = true
  elseif count ~= expected + 1 then
    note = 'unrecorded'
  end
end
end
local function idle(status)
  if finished then redis.call('DEL', KEYS[1]) end
  return {status, count, '', '', note}
end
if ARGV[4] ~= '1' then return idle('done') end
if not finished then
  local held = redis.call('GET', KEYS[1])
  if held then return {'held', count, '', held, note} end
end
if pause and string.lower(string.match(pause, '^%s*(.-)%s*$')) == 'true' then return idle('paused') end
`;

export const FINISH_AND_RESERVE = `${FINISH_HEAD}local prefix = ARGV[6]
local queues = {}
if ARGV[7] == '1' then
${patternQueuesLua(8, 'KEYS[8]')}  for _, q in ipairs(queues) do
    local raw = redis.call('LPOP', prefix .. q)
    if raw then
      set_working_on(KEYS[1], q, ARGV[5], raw)
      return {'job', count, q, raw, note}
    end
  end
else
  for i = 8, #ARGV do
    local raw = redis.call('LPOP', prefix .. ARGV[i])
    if raw then
      set_working_on(KEYS[1], ARGV[i], ARGV[5], raw)
      return {'job', count, ARGV[i], raw, note}
    end
  end
end
return idle('empty')
`;

/** A Lua string literal of `s`'s UTF-8 bytes: plain characters as they are, every other byte as `\ddd`. */
export function luaStringLiteral(s: string): string {
  let out = "'";
  for (const b of Buffer.from(s, 'utf8')) {
    const plain = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x3a || b === 0x2e || b === 0x2d;
    out += plain ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`;
  }
  return `${out}'`;
}

/** The longest plain queue list finishAndReserveBaked bakes in (LMPOP's arguments go through Lua's stack). */
export const BAKED_QUEUES_MAX = 1000;

/**
 * finish-and-reserve for one plain queue list (two queues or more, no globs), with the list's
 * keys written into the script's text: FINISH_AND_RESERVE's KEYS and ARGV[1..6] (ARGV[7..] are
 * not read), the same finish, and the reservation in priority order as one command: on Redis
 * 7.0+ (`redis.REDIS_VERSION_NUM`), `LMPOP n <keys> LEFT` pops from the first non-empty queue,
 * exactly what the per-queue LPOP pass takes. So the cost of a step no longer grows with the
 * list: no names sent per step, no key strings built in Lua, one command whatever the number of
 * empty queues (100 empty queues: ~10 us of Redis time, against ~35 us for 100 LPOPs).
 * Where LMPOP is missing or refused (Redis < 7, an ACL without +lmpop), the step takes the
 * per-queue LPOP pass instead and its reply carries a sixth element, 'nolmpop': the store then
 * goes back to FINISH_AND_RESERVE, whose known-empty skipping serves that server.
 * Returns what FINISH_AND_RESERVE returns (plus that sixth element where it applies).
 */
export function finishAndReserveBaked(prefix: string, queues: readonly string[]): string {
  if (queues.length < 2 || queues.length > BAKED_QUEUES_MAX) throw new RangeError(`a baked queue list has 2..${BAKED_QUEUES_MAX} queues, got ${queues.length}`);
  const keys = queues.map(q => luaStringLiteral(prefix + q)).join(', ');
  const names = queues.map(q => luaStringLiteral(q)).join(', ');
  // Up to 200 keys as the call's own arguments (no table built per step); beyond, Lua's limit on
  // a call's registers needs a table.
  const lmpop =
    queues.length <= 200 ? `redis.pcall('LMPOP', ${queues.length}, ${keys}, 'LEFT')` : `redis.pcall('LMPOP', ${queues.length}, unpack({${keys}, 'LEFT'}))`;
  return `${FINISH_HEAD}local flag = 'nolmpop'
if redis.REDIS_VERSION_NUM ~= nil and redis.REDIS_VERSION_NUM >= 458752 then
  local got = ${lmpop}
  if not got then return idle('empty') end
  if got.err == nil then
    local q = string.sub(got[1], ${Buffer.byteLength(prefix, 'utf8') + 1})
    local raw = got[2][1]
    set_working_on(KEYS[1], q, ARGV[5], raw)
    return {'job', count, q, raw, note}
  end
end
local keys = {${keys}}
local names = {${names}}
for i = 1, #keys do
  local raw = redis.call('LPOP', keys[i])
  if raw then
    set_working_on(KEYS[1], names[i], ARGV[5], raw)
    return {'job', count, names[i], raw, note, flag}
  end
end
local out = idle('empty')
out[6] = flag
return out
`;
}

/**
 * unregister. Resque's unregister_worker, with the dirty-exit record for a job still held.
 * KEYS[1] workers  KEYS[2] worker:<id>  KEYS[3] worker:<id>:started  KEYS[4] workers:heartbeat
 * KEYS[5] stat:processed:<id>  KEYS[6] stat:failed:<id>  KEYS[7] failed  KEYS[8] the job's queue
 * KEYS[9] pyres-ts:pidns (hash; pyres-ts only: the worker's PID-namespace record, field = id)
 * KEYS[10] (redis_multi_queue only) failed_queues: KEYS[7] is then `<ns>:<queue>_failed`, listed
 *         here (without the namespace prefix) before the RPUSH, as Ruby does.
 * ARGV[1] worker id  ARGV[2] the worker:<id> value the record was built from ('' = none)
 * ARGV[3] the failure record ('' with 'fail': suppressed by a retry policy, not written), ARGV[4] 'fail' or 'requeue', ARGV[5] the raw payload (requeue),
 * ARGV[6] '1': act only if worker:<id> still holds ARGV[2] (else change nothing, return -1).
 * Acts only when worker:<id> still equals ARGV[2]: 'fail' RPUSHes the failure record,
 * 'requeue' LPUSHes the payload back to the head of its queue. Returns 1 when it acted.
 */
export const UNREGISTER = `
local wrote = 0
if ARGV[6] == '1' and (ARGV[2] == '' or redis.call('GET', KEYS[2]) ~= ARGV[2]) then return -1 end
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2] then
  if ARGV[4] == 'requeue' then
    redis.call('LPUSH', KEYS[8], ARGV[5])
  elseif ARGV[3] ~= '' then
    if KEYS[10] then redis.call('SADD', KEYS[10], string.sub(KEYS[7], #KEYS[10] - 12)) end
    redis.call('RPUSH', KEYS[7], ARGV[3])
  end
  wrote = 1
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('DEL', KEYS[3])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[5])
redis.call('DEL', KEYS[6])
redis.call('HDEL', KEYS[9], ARGV[1])
return wrote
`;

/** The Lua working-on builder alone, so a test can check it against encodeWorkingOn. ARGV: queue, run_at, raw. */
export const WORKING_ON_PROBE = `${LUA_HELPERS}
return working_on(ARGV[1], ARGV[2], ARGV[3])
`;

/**
 * reserve-many (since issue 15, `--concurrency`): reserves up to k jobs for k idle job slots
 * of one process in one round trip. Each slot gets at most one job (one reservation per slot),
 * taken in priority order exactly as FINISH_AND_RESERVE takes one, and its `worker:<id>`
 * record is SET before the script returns (set_working_on: a large object payload is APPENDed,
 * not concatenated in Lua), so nothing popped is ever unrecorded. A slot whose
 * `worker:<id>` already holds a record (a reply lost earlier) gets that record back ('held')
 * and nothing new. A queue found empty is not popped again in the same call.
 *
 * KEYS[1] pause-all-workers  KEYS[2] queues (set)  KEYS[3..] worker:<id> of each idle slot
 * ARGV[1] run_at  ARGV[2] queue key prefix, '<ns>:queue:'
 * ARGV[3] '0': ARGV[4..] are queue names in priority order; '1': '+s<name>', '+g<lua pattern>',
 *         '-g<lua pattern>' as in FINISH_AND_RESERVE.
 * Returns {'paused'} (the pause key is 'true', checked as FINISH_AND_RESERVE does, nothing
 * reserved), or {'ok', kind1, i1, queue1, value1, kind2, ...}: for each slot served, kind
 * 'job' (value = the payload) or 'held' (value = the record; queue ''), i = its KEYS index - 2
 * (1-based slot position in the call). Slots not listed got nothing (every queue empty).
 */
export const RESERVE_MANY = `${LUA_HELPERS}
local out = {'ok'}
local want = {}
for k = 3, #KEYS do
  local held = redis.call('GET', KEYS[k])
  if held then
    out[#out + 1] = 'held'; out[#out + 1] = k - 2; out[#out + 1] = ''; out[#out + 1] = held
  else
    want[#want + 1] = k
  end
end
if #want == 0 then return out end
local pause = redis.call('GET', KEYS[1])
if pause and string.lower(string.match(pause, '^%s*(.-)%s*$')) == 'true' then
  if #out > 1 then return out end
  return {'paused'}
end
local prefix = ARGV[2]
local queues = {}
if ARGV[3] == '1' then
${patternQueuesLua(4, 'KEYS[2]')}else
  for i = 4, #ARGV do queues[#queues + 1] = ARGV[i] end
end
local qi = 1
for _, k in ipairs(want) do
  local got = false
  while qi <= #queues do
    local q = queues[qi]
    local raw = redis.call('LPOP', prefix .. q)
    if raw then
      set_working_on(KEYS[k], q, ARGV[1], raw)
      out[#out + 1] = 'job'; out[#out + 1] = k - 2; out[#out + 1] = q; out[#out + 1] = raw
      got = true
      break
    end
    qi = qi + 1
  end
  if not got then break end
end
return out
`;
