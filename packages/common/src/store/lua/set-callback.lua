--[[
  Updates the callback state only if the job still exists (never creates a
  partial hash), and bumps a counter when given.

  KEYS[1]   job hash
  KEYS[2]   counters hash
  KEYS[3]   spec string
  KEYS[4]   attempt log

  ARGV[1]   callback    stored callback state (callback-state.ts)
  ARGV[2]   nowIso
  ARGV[3]   ttlSeconds
  ARGV[4]   counter     '' = none

  Returns 1 when written, 0 when the job no longer exists.
]]
local callback, now, ttl, counter = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'callback', callback, 'updatedAt', now)
refreshJob(ttl, KEYS[1], KEYS[3], KEYS[4])
if counter ~= '' then redis.call('HINCRBY', KEYS[2], counter, 1) end
return 1
