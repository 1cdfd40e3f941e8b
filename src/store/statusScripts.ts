/**
 * The status merge, in Lua so that two writers (the job, a kill, an admin) never lose each other's
 * fields (resque-status's own GET-then-SET does; PROTOCOL-plugins.md §2.3).
 *
 * No cjson: decoding and re-encoding would reorder keys, turn `1.0` into `1`, `[]` into `{}` and
 * reformat floats. The stored object is split into its top-level `"key":value` members as text,
 * each value kept byte for byte; new values arrive as JSON text already encoded by the caller.
 * The merge is Ruby's: `{"time"=>now, "status"=>"queued"}.merge("uuid"=>u).merge(previous).merge(new)`,
 * so key order is time, status, uuid, the previous keys in their order, then new keys, and `time`
 * stays the creation time. A stored value that is not a JSON object is replaced (never an error).
 *
 * KEYS[1] status:<uuid>, KEYS[2] _kill, KEYS[3] pyres-ts:done:<uuid>
 * ARGV[1] uuid, ARGV[2] now (epoch seconds, for a missing `time`), ARGV[3] expire_in seconds ('0': keep the TTL),
 * ARGV[4] kill mode: '0' none, '1' honour _kill (SISMEMBER first, as `at`/`tick`), '2' write killed now,
 * ARGV[5] the killed fields' message JSON text, ARGV[6] the done notice ('' none) for a final update,
 * ARGV[7] the killed done notice, ARGV[8] done list TTL seconds, ARGV[9] n, then n pairs key JSON text, value JSON text,
 * then (optional) m and m pairs merged only when the status holds `"keep_result":true` (the enqueue asked
 * for the result: the job need not read its status first to know).
 * Returns { 'ok' | 'killed', merged JSON text }.
 */
export const STATUS_MERGE = `
local function members(s)
  local out = {}
  if type(s) ~= 'string' then return nil end
  local i, n = 1, #s
  local function ws() while i <= n and string.find(' \\t\\r\\n', string.sub(s, i, i), 1, true) do i = i + 1 end end
  local function str()
    if string.sub(s, i, i) ~= '"' then return nil end
    local j = i + 1
    while j <= n do
      local c = string.sub(s, j, j)
      if c == '\\\\' then j = j + 2
      elseif c == '"' then local t = string.sub(s, i, j); i = j + 1; return t
      else j = j + 1 end
    end
    return nil
  end
  ws()
  if string.sub(s, i, i) ~= '{' then return nil end
  i = i + 1
  ws()
  if string.sub(s, i, i) == '}' then i = i + 1; ws(); if i <= n then return nil end; return out end
  while true do
    ws()
    local k = str()
    if not k then return nil end
    ws()
    if string.sub(s, i, i) ~= ':' then return nil end
    i = i + 1
    ws()
    local start, depth = i, 0
    while i <= n do
      local c = string.sub(s, i, i)
      if c == '"' then if not str() then return nil end
      else
        if c == '{' or c == '[' then depth = depth + 1
        elseif c == '}' or c == ']' then
          if depth == 0 then break end
          depth = depth - 1
        elseif c == ',' and depth == 0 then break end
        i = i + 1
      end
    end
    local v = string.gsub(string.sub(s, start, i - 1), '%s+$', '')
    if v == '' or i > n then return nil end
    out[#out + 1] = { k, v }
    local c = string.sub(s, i, i)
    i = i + 1
    if c == '}' then ws(); if i <= n then return nil end; return out end
  end
end

local list, index = {}, {}
local function put(k, v)
  local at = index[k]
  if at then list[at][2] = v else list[#list + 1] = { k, v }; index[k] = #list end
end

put('"time"', ARGV[2])
put('"status"', '"queued"')
put('"uuid"', '"' .. ARGV[1] .. '"')
local prev = members(redis.call('GET', KEYS[1]))
if prev then for _, m in ipairs(prev) do put(m[1], m[2]) end end

local killed = ARGV[4] == '2' or (ARGV[4] == '1' and redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1)
local notice = ARGV[6]
if killed then
  put('"status"', '"killed"')
  put('"message"', ARGV[5])
  notice = ARGV[7]
else
  local n = tonumber(ARGV[9])
  for j = 0, n - 1 do put(ARGV[10 + 2 * j], ARGV[11 + 2 * j]) end
  local at = 10 + 2 * n
  local m = tonumber(ARGV[at] or '0')
  local kr = index['"keep_result"']
  if m > 0 and kr and list[kr][2] == 'true' then
    for j = 0, m - 1 do put(ARGV[at + 1 + 2 * j], ARGV[at + 2 + 2 * j]) end
  end
end

local parts = {}
for _, m in ipairs(list) do parts[#parts + 1] = m[1] .. ':' .. m[2] end
local text = '{' .. table.concat(parts, ',') .. '}'
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('SET', KEYS[1], text)
  redis.call('EXPIRE', KEYS[1], ttl)
else
  redis.call('SET', KEYS[1], text, 'KEEPTTL')
end
if killed then redis.call('SREM', KEYS[2], ARGV[1]) end
if notice ~= '' then
  redis.call('LPUSH', KEYS[3], notice)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[8]))
end
return { killed and 'killed' or 'ok', text }
`;
