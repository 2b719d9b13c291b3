--[[
  Takes or renews the reconciler's lease: one reconciler is active among all
  workers. The holder renews before the lease ends; a worker that dies stops
  renewing, and another takes over once the lease has expired.

  KEYS[1]   lease string

  ARGV[1]   token   this worker's reconciler
  ARGV[2]   ttlMs

  Returns 1 when this token holds the lease now, 0 otherwise.
]]
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if held then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
