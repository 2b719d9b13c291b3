--[[
  Records that attempt `attempt` of a job was published (after its publish
  was confirmed), so that a stale copy of the attempt before it does not
  publish it again. Never creates a partial hash, never lowers the mark.

  KEYS[1]   job hash

  ARGV[1]   attempt   1-based number of the attempt published

  Returns 1 when written, 0 otherwise.
]]
local n = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local old = tonumber(redis.call('HGET', KEYS[1], 'scheduled') or '0') or 0
if old >= n then return 0 end
redis.call('HSET', KEYS[1], 'scheduled', n)
return 1
