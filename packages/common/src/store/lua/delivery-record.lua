--[[
  Records the state of one delivery in a subscription's log
  (events/delivery-log.ts). A state never moves backwards: a record whose
  (attempts, status rank) is below the stored one is dropped, so a late or
  duplicate report of an earlier attempt cannot hide a later outcome. A
  resend (force) starts the delivery over and replaces the state whatever
  it was. The first record keeps the body (for a resend) and the creation
  time; the log's entries older than the TTL are dropped, a bounded number
  per call.

  KEYS[1]   deliveries zset (delivery id scored by the ms of its first record)
  KEYS[2]   delivery records hash (id -> state JSON, id .. ':body' -> body JSON)
  KEYS[3]   the application's endpoint health hash (subscription id -> failing since)

  ARGV[1]   id
  ARGV[2]   state JSON (an EventDelivery; its createdAt is replaced by the stored one)
  ARGV[3]   body JSON (stored only by the first record)
  ARGV[4]   rank         attempts * 4 + status rank (delivery-log.ts)
  ARGV[5]   nowMs
  ARGV[6]   ttlSeconds
  ARGV[7]   force        '1' = replace the state whatever its rank (a resend)
  ARGV[8]   subscriptionId
  ARGV[9]   delivered    '1' = the endpoint answered: its run of failures ends (in the
                         same step, so a delivery costs one round trip)

  Returns 1 when the state was written, 0 when it was older than the stored one.
]]
local id, state, body, rank, nowMs, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
if ARGV[9] == '1' then redis.call('HDEL', KEYS[3], ARGV[8]) end
local current = redis.call('HGET', KEYS[2], id)
if current then
  local old = cjson.decode(current)
  if ARGV[7] ~= '1' and tonumber(old.rank or 0) > rank then return 0 end
  local new = cjson.decode(state)
  new.createdAt = old.createdAt
  new.rank = rank
  state = cjson.encode(new)
else
  local new = cjson.decode(state)
  new.rank = rank
  state = cjson.encode(new)
  redis.call('HSET', KEYS[2], id .. ':body', body)
  redis.call('ZADD', KEYS[1], 'NX', nowMs, id)
end
redis.call('HSET', KEYS[2], id, state)
-- Drop what is older than the TTL (bounded per call; every write trims some).
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. (nowMs - tonumber(ttl) * 1000), 'LIMIT', 0, 100)
for _, gone in ipairs(old) do
  redis.call('HDEL', KEYS[2], gone, gone .. ':body')
  redis.call('ZREM', KEYS[1], gone)
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return 1
