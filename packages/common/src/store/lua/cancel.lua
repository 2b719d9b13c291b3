--[[
  Cancels a job that is waiting (queued or retrying) at once; flags one that
  is running so that it ends after its current attempt. A job still
  in_progress after its lease expired (leaseUntil, Redis time) has no attempt
  running any more (its worker died, or its handling keeps failing): it is
  cancelled at once too, since no attempt would end it.

  KEYS[1]   job hash
  KEYS[2]   counters hash
  KEYS[3]   spec string
  KEYS[4]   deadline index: a cancelled job leaves it, or with a callback is due now
  KEYS[5]   attempt log

  ARGV[1]   nowIso
  ARGV[2]   ttlSeconds
  ARGV[3]   jobId
  ARGV[4]   statusPrefix
  ARGV[5]   idxTtl
  ARGV[6]   pendingCallback  stored callback state; '' when the job has no callback
  ARGV[7]   nowMs
  ARGV[8]   trimBefore       drop index entries scored below this; '' = no trim

  Returns {'cancelled'} | {'requested'} | {'final', status} | {'missing'}.
]]
local now, ttl, jobId, statusPrefix, idxTtl, callback = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
local leaseOver = false
if status == STATUS.inProgress then
  local t = redis.call('TIME')
  local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  leaseOver = (tonumber(redis.call('HGET', KEYS[1], 'leaseUntil')) or 0) <= nowMs
end
if status == STATUS.queued or status == STATUS.retrying or leaseOver then
  local keys = {job = KEYS[1], counters = KEYS[2], spec = KEYS[3], log = KEYS[5], deadlines = KEYS[4]}
  endCancelled(keys, jobId, status, now, ARGV[7], callback, statusPrefix, idxTtl, ARGV[8], ttl)
  return {'cancelled'}
end
if status == STATUS.inProgress then
  redis.call('HSET', KEYS[1], 'cancelRequested', '1', 'updatedAt', now)
  return {'requested'}
end
return {'final', status}
