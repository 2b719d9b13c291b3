--[[
  Creates or changes one subscription (events/subscription-store.ts) as a
  compare-and-set, and bumps the application's subscriptions version in the
  same step so that every process's index (subscription-cache.ts) sees the
  change. A change is written only over the JSON the caller read: of two
  concurrent writers one wins and the other re-reads, so exactly one failure
  report disables a failing subscription.

  KEYS[1]   subscriptions hash (id -> JSON)
  KEYS[2]   subscriptions version (INCR on every change)
  KEYS[3]   subscription health hash (id -> ms its failing run began)

  ARGV[1]   id
  ARGV[2]   json         the subscription to store
  ARGV[3]   expected     the JSON it must replace; '' = create (the id must be new)
  ARGV[4]   maxCount     create only: refuse when the application has this many
  ARGV[5]   clearHealth  '1' = end the failing run (re-enabled)

  Returns 'ok' | 'missing' | 'conflict' | 'exists' | 'limit'.
]]
local id, json, expected = ARGV[1], ARGV[2], ARGV[3]
local current = redis.call('HGET', KEYS[1], id)
if expected == '' then
  if current then return 'exists' end
  if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 'limit' end
else
  if not current then return 'missing' end
  if current ~= expected then return 'conflict' end
end
redis.call('HSET', KEYS[1], id, json)
if ARGV[5] == '1' then redis.call('HDEL', KEYS[3], id) end
redis.call('INCR', KEYS[2])
return 'ok'
