--[[
  Turns a failed or cancelled job back into a queued one for a new series of
  attempts, numbered on from its attempt count. What it overwrites is kept in
  'replayUndo' so undo-replay.lua can restore it if the publish then fails.

  KEYS[1]   job hash
  KEYS[2]   index of dead-lettered jobs
  KEYS[3]   spec string
  KEYS[4]   deadline index: a replayed job is due now
  KEYS[5]   attempt log

  ARGV[1]   nowIso
  ARGV[2]   ttlSeconds
  ARGV[3]   jobId
  ARGV[4]   statusPrefix
  ARGV[5]   idxTtl
  ARGV[6]   requestId  of the replaying request; '' when none
  ARGV[7]   nowMs
  ARGV[8]   trimBefore drop index entries scored below this; '' = no trim

  Returns {'ok', attempts} | {'conflict', status} | {'missing'}.
]]
local now, ttl, jobId, statusPrefix, idxTtl, requestId = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local f = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'completedAt', 'deadLetteredAt', 'callback',
  'error', 'seriesBase', 'replays', 'requestId')
local status = f[1]
if not status then return {'missing'} end
if status ~= STATUS.failed and status ~= STATUS.cancelled then return {'conflict', status} end
local undo = cjson.encode({status = status, completedAt = f[3] or '', deadLetteredAt = f[4] or '',
  callback = f[5] or '', error = f[6] or '', seriesBase = f[7] or '0', replays = f[8] or '0', requestId = f[9] or ''})
local deadScore = redis.call('ZSCORE', KEYS[2], jobId)
redis.call('HSET', KEYS[1], 'status', STATUS.queued, 'seriesBase', f[2], 'replays', (tonumber(f[8]) or 0) + 1,
  'updatedAt', now, 'requestId', requestId, 'replayUndo', undo, 'replayUndoDeadScore', deadScore or '')
redis.call('HDEL', KEYS[1], 'completedAt', 'deadLetteredAt', 'callback', 'error', 'nextAttemptAt')
redis.call('ZREM', KEYS[2], jobId)
redis.call('ZADD', KEYS[4], ARGV[7], jobId)
moveStatus(KEYS[1], jobId, status, STATUS.queued, statusPrefix, idxTtl, ARGV[8])
refreshJob(ttl, KEYS[1], KEYS[3], KEYS[5])
return {'ok', f[2]}
