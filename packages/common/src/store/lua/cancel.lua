--[[
  Cancels a job that is waiting (queued or retrying) at once; flags one that
  is running so that it ends after its current attempt.

  KEYS[1]   job hash
  KEYS[2]   counters hash
  KEYS[3]   spec string
  KEYS[4]   attempt log

  ARGV[1]   nowIso
  ARGV[2]   ttlSeconds
  ARGV[3]   jobId
  ARGV[4]   statusPrefix
  ARGV[5]   idxTtl
  ARGV[6]   pendingCallback  stored callback state; '' when the job has no callback
  ARGV[7]   trimBefore       drop index entries scored below this; '' = no trim

  Returns {'cancelled'} | {'requested'} | {'final', status} | {'missing'}.
]]
local now, ttl, jobId, statusPrefix, idxTtl, callback = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status == STATUS.queued or status == STATUS.retrying then
  redis.call('HSET', KEYS[1], 'status', STATUS.cancelled, 'completedAt', now, 'updatedAt', now)
  redis.call('HDEL', KEYS[1], 'nextAttemptAt')
  if callback ~= '' then redis.call('HSET', KEYS[1], 'callback', callback) end
  moveStatus(KEYS[1], jobId, status, STATUS.cancelled, statusPrefix, idxTtl, ARGV[7])
  redis.call('HINCRBY', KEYS[2], STATUS_COUNTER[STATUS.cancelled], 1)
  refreshJob(ttl, KEYS[1], KEYS[3], KEYS[4])
  return {'cancelled'}
end
if status == STATUS.inProgress then
  redis.call('HSET', KEYS[1], 'cancelRequested', '1', 'updatedAt', now)
  return {'requested'}
end
return {'final', status}
