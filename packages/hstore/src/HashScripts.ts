/**
 * The Lua scripts of the hash backend. Each touches one bucket (KEYS[1]) and
 * keys derived from it with the same hash tag (overflow keys), so on a Cluster
 * every call is single-slot.
 *
 * @since 0.1.0
 */

/**
 * Writes fields of one bucket and applies the expiry policy atomically.
 *
 * KEYS[1] bucket.
 * ARGV[1] policy mode: "0" never, "1" on create (set a TTL only if there is
 *         none), "2" on every write.
 * ARGV[2] policy TTL in milliseconds.
 * ARGV[3] "1" when the server has `PEXPIRE … NX` (Redis ≥ 7); otherwise the
 *         script checks PTTL itself — still atomic, since scripts run alone.
 * ARGV[4] overflow marker ("" when overflow is off).
 * ARGV[5] overflow key prefix: the overflow key of field f is prefix .. f.
 * ARGV[6] "1" when the server has HPEXPIRE (per-field TTL).
 * ARGV[7..] triples: field, value, field TTL in ms ("0": none).
 *
 * A field that held the marker and now gets an inline value has its overflow
 * key deleted, so a value that shrinks leaves nothing behind.
 *
 * @since 0.1.0
 */
export const SET_FIELDS = `
local key = KEYS[1]
local marker = ARGV[4]
local n = (#ARGV - 6) / 3
local fields = {}
for i = 1, n do fields[i] = ARGV[4 + i * 3] end
if marker ~= '' then
  for first = 1, n, 1000 do
    local last = math.min(first + 999, n)
    local old = redis.call('HMGET', key, unpack(fields, first, last))
    for i = first, last do
      if old[i - first + 1] == marker and ARGV[5 + i * 3] ~= marker then
        redis.call('DEL', ARGV[5] .. fields[i])
      end
    end
  end
end
for first = 1, n, 1000 do
  local last = math.min(first + 999, n)
  local args = {}
  for i = first, last do
    args[#args + 1] = fields[i]
    args[#args + 1] = ARGV[5 + i * 3]
  end
  redis.call('HSET', key, unpack(args))
end
if ARGV[6] == '1' then
  for i = 1, n do
    local ttl = tonumber(ARGV[6 + i * 3])
    if ttl > 0 then
      redis.call('HPEXPIRE', key, ttl, 'FIELDS', 1, fields[i])
    else
      redis.call('HPERSIST', key, 'FIELDS', 1, fields[i])
    end
  end
end
local mode = ARGV[1]
if mode == '1' then
  if ARGV[3] == '1' then
    redis.call('PEXPIRE', key, ARGV[2], 'NX')
  elseif redis.call('PTTL', key) == -1 then
    redis.call('PEXPIRE', key, ARGV[2])
  end
elseif mode == '2' then
  redis.call('PEXPIRE', key, ARGV[2])
end
return n
`

/**
 * Deletes fields of one bucket whose value is still the one given (a
 * compare-and-delete, so a value rewritten since it was found expired stays).
 *
 * KEYS[1] bucket. ARGV pairs: field, expected value. Returns the number deleted.
 *
 * @since 0.1.0
 */
export const DELETE_IF_UNCHANGED = `
local key = KEYS[1]
local deleted = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', key, ARGV[i]) == ARGV[i + 1] then
    deleted = deleted + redis.call('HDEL', key, ARGV[i])
  end
end
return deleted
`
