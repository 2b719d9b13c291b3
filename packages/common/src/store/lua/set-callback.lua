--[[
  Updates the callback state only if the job still exists (never creates a
  partial hash), and bumps a counter when given.

  KEYS[1]   job hash
  KEYS[2]   counters hash
  KEYS[3]   spec string
  KEYS[4]   deadline index
  KEYS[5]   attempt log

  ARGV[1]   callback    stored callback state (callback-state.ts)
  ARGV[2]   nowIso
  ARGV[3]   ttlSeconds
  ARGV[4]   counter     '' = none
  ARGV[5]   jobId
  ARGV[6]   deadlineMs  when the next delivery is due (epoch ms); '' = settled, leaves the index

  Returns 1 when written, 0 when the job no longer exists.
]]
local callback, now, ttl, counter = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
-- PTTL answers -2 for a missing key: the existence check and the lifetime in one call.
local pttl = redis.call('PTTL', KEYS[1])
if pttl == -2 then return 0 end
redis.call('HSET', KEYS[1], 'callback', callback, 'updatedAt', now)
refreshJobIfAged(pttl, ttl, KEYS[1], KEYS[3], KEYS[5])
if ARGV[6] ~= '' then redis.call('ZADD', KEYS[4], ARGV[6], ARGV[5]) else redis.call('ZREM', KEYS[4], ARGV[5]) end
if counter ~= '' then redis.call('HINCRBY', KEYS[2], counter, 1) end
return 1
