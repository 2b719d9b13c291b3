--[[
  Restores a job to what replay.lua overwrote, if nothing has happened to it
  since (still queued, same attempt count).

  KEYS[1]   job hash
  KEYS[2]   index of dead-lettered jobs
  KEYS[3]   deadline index: the restored job is final again and leaves it

  ARGV[1]   attempts      the job's attempt count when it was replayed
  ARGV[2]   jobId
  ARGV[3]   statusPrefix
  ARGV[4]   idxTtl
  ARGV[5]   trimBefore    drop index entries scored below this; '' = no trim

  Returns 1 when restored, 0 otherwise.
]]
local attempts, jobId, statusPrefix, idxTtl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local f = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'replayUndo', 'replayUndoDeadScore')
if f[1] ~= STATUS.queued or f[2] ~= attempts or not f[3] then return 0 end
local u = cjson.decode(f[3])
redis.call('HSET', KEYS[1], 'status', u.status, 'completedAt', u.completedAt, 'deadLetteredAt', u.deadLetteredAt,
  'callback', u.callback, 'error', u.error, 'seriesBase', u.seriesBase, 'replays', u.replays, 'requestId', u.requestId)
redis.call('HDEL', KEYS[1], 'replayUndo', 'replayUndoDeadScore')
redis.call('ZREM', KEYS[3], jobId)
if f[4] and f[4] ~= '' then
  redis.call('ZADD', KEYS[2], f[4], jobId)
  trimIndex(KEYS[2], ARGV[5])
end
moveStatus(KEYS[1], jobId, STATUS.queued, u.status, statusPrefix, idxTtl, ARGV[5])
return 1
