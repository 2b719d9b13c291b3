/**
 * The job store's Lua scripts. Each one reads and changes a job atomically,
 * and moves it between status indexes in the same step, so an index never
 * disagrees with the job for longer than one script.
 *
 * The status index keys are built inside the scripts from a prefix argument:
 * fine on one Redis server, not on Redis Cluster (relay targets one server).
 */

/** Shared helpers, prepended to every script. */
const HELPERS = `
local function moveStatus(jobKey, id, old, new, statusPrefix, idxTtl)
  local score = redis.call('HGET', jobKey, 'createdAtMs') or '0'
  if old and old ~= new then redis.call('ZREM', statusPrefix .. old, id) end
  redis.call('ZADD', statusPrefix .. new, score, id)
  redis.call('EXPIRE', statusPrefix .. new, idxTtl)
end
local function setOrDel(key, field, value)
  if value == '' then redis.call('HDEL', key, field) else redis.call('HSET', key, field, value) end
end
local function isFinal(status)
  return status == 'completed' or status == 'failed' or status == 'cancelled'
end
`;

/**
 * Stores a new job and indexes it: one command instead of a MULTI of a dozen,
 * so that a burst of submissions costs Redis (and the backend's socket) one
 * write each.
 *
 * KEYS: job, counters, spec, then the index keys. ARGV: ttlSeconds, idxTtl,
 * createdAtMs, jobId, trimBefore ('' = no trim), specJson, then field/value
 * pairs.
 */
export const CREATE = `
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[3], ARGV[6], 'EX', ARGV[1])
for i = 4, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[3], ARGV[4])
  if ARGV[5] ~= '' then redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[5]) end
  redis.call('EXPIRE', KEYS[i], ARGV[2])
end
redis.call('HINCRBY', KEYS[2], 'jobs_created', 1)
return 1
`;

/**
 * Decides whether attempt ARGV[1] may run now and, if so, takes the job's
 * lease. The lease (token + expiry in Redis time) keeps two copies of the same
 * attempt message, which at-least-once delivery allows, from calling the
 * target at the same time.
 *
 * KEYS: job, idx:all, spec. ARGV: attempt, leaseToken, leaseMs, nowIso, ttlSeconds,
 * specJson ('' = do not recreate), createdAt, createdAtMs, jobId,
 * statusPrefix, idxTtl, application (of a recreated job).
 */
export const BEGIN_ATTEMPT = `${HELPERS}
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[6] == '' then return {'missing'} end
  redis.call('HSET', KEYS[1], 'status', 'queued', 'attempts', n - 1,
    'createdAt', ARGV[7], 'createdAtMs', ARGV[8], 'updatedAt', ARGV[4], 'recreated', '1', 'app', ARGV[12])
  redis.call('SET', KEYS[3], ARGV[6], 'EX', ARGV[5])
  redis.call('ZADD', KEYS[2], ARGV[8], ARGV[9])
end
local f = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'leaseToken', 'leaseUntil', 'nextAttemptAt')
local status = f[1]
local done = tonumber(f[2]) or 0
if isFinal(status) then return {'final', status, done} end
if n <= done then return {'stale', status, done, f[5] or ''} end
if status == 'in_progress' and f[3] ~= ARGV[2] then
  local untilMs = tonumber(f[4]) or 0
  if untilMs > nowMs then return {'busy', status, done, untilMs - nowMs} end
end
redis.call('HSET', KEYS[1], 'status', 'in_progress', 'leaseToken', ARGV[2],
  'leaseUntil', nowMs + tonumber(ARGV[3]), 'updatedAt', ARGV[4])
redis.call('HDEL', KEYS[1], 'nextAttemptAt')
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[3], ARGV[5])
moveStatus(KEYS[1], ARGV[9], status, 'in_progress', ARGV[10], ARGV[11])
return {'run', status, done}
`;

/**
 * Records attempt ARGV[1] and the job's next state; releases the lease. A job
 * whose cancel arrived during the attempt ends 'cancelled' instead of
 * 'retrying'. Returns the status actually written.
 *
 * The log is a list with attempt n at index n - 1, so writing the same
 * attempt twice overwrites it; attempts missing before n are padded with ''.
 *
 * KEYS: job, attempts (list), counters, idx:dead, spec. ARGV: attempt, attemptJson,
 * status, nextAttemptAt, lastStatusCode ('' when none), errorJson, callback (stored form,
 * see stored-callback.ts; set only when the job ends), nowIso, ttlSeconds, jobId, statusPrefix, idxTtl,
 * deadLettered ('1'/'0'), nowMs.
 */
export const RECORD_ATTEMPT = `${HELPERS}
local status = ARGV[3]
local old = redis.call('HGET', KEYS[1], 'status')
if status == 'retrying' and redis.call('HGET', KEYS[1], 'cancelRequested') == '1' then status = 'cancelled' end
local n = tonumber(ARGV[1])
local len = redis.call('LLEN', KEYS[2])
if n <= len then
  redis.call('LSET', KEYS[2], n - 1, ARGV[2])
else
  for _ = len + 1, n - 1 do redis.call('RPUSH', KEYS[2], '') end
  redis.call('RPUSH', KEYS[2], ARGV[2])
end
redis.call('HSET', KEYS[1], 'status', status, 'attempts', ARGV[1], 'updatedAt', ARGV[8])
-- Empty values are deleted rather than stored: every field costs memory.
setOrDel(KEYS[1], 'nextAttemptAt', status == 'retrying' and ARGV[4] or '')
setOrDel(KEYS[1], 'lastStatusCode', ARGV[5])
setOrDel(KEYS[1], 'error', ARGV[6])
redis.call('HDEL', KEYS[1], 'leaseToken', 'leaseUntil', 'lastResponse')
if isFinal(status) then
  redis.call('HSET', KEYS[1], 'completedAt', ARGV[8])
  redis.call('HDEL', KEYS[1], 'cancelRequested')
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'callback', ARGV[7]) end
end
if status == 'failed' and ARGV[13] == '1' then
  redis.call('HSET', KEYS[1], 'deadLetteredAt', ARGV[8])
  redis.call('ZADD', KEYS[4], ARGV[14], ARGV[10])
  redis.call('EXPIRE', KEYS[4], ARGV[12])
  redis.call('HINCRBY', KEYS[3], 'jobs_dlq', 1)
end
moveStatus(KEYS[1], ARGV[10], old, status, ARGV[11], ARGV[12])
local counter = ({completed = 'jobs_success', failed = 'jobs_failed', retrying = 'jobs_retried',
  cancelled = 'jobs_cancelled'})[status]
if counter then redis.call('HINCRBY', KEYS[3], counter, 1) end
redis.call('EXPIRE', KEYS[1], ARGV[9])
redis.call('EXPIRE', KEYS[2], ARGV[9])
redis.call('EXPIRE', KEYS[5], ARGV[9])
return status
`;

/**
 * Cancels a job that is waiting (queued or retrying) at once; flags one that
 * is running so that it ends after its current attempt.
 *
 * KEYS: job, counters, spec. ARGV: nowIso, ttlSeconds, jobId, statusPrefix, idxTtl,
 * pendingCallback ('' when the job has no callback).
 * Returns {'cancelled'} | {'requested'} | {'final', status} | {'missing'}.
 */
export const CANCEL = `${HELPERS}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status == 'queued' or status == 'retrying' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'completedAt', ARGV[1], 'updatedAt', ARGV[1])
  redis.call('HDEL', KEYS[1], 'nextAttemptAt')
  if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'callback', ARGV[6]) end
  moveStatus(KEYS[1], ARGV[3], status, 'cancelled', ARGV[4], ARGV[5])
  redis.call('HINCRBY', KEYS[2], 'jobs_cancelled', 1)
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[2])
  return {'cancelled'}
end
if status == 'in_progress' then
  redis.call('HSET', KEYS[1], 'cancelRequested', '1', 'updatedAt', ARGV[1])
  return {'requested'}
end
return {'final', status}
`;

/**
 * Turns a failed or cancelled job back into a queued one for a new series of
 * attempts, numbered on from its attempt count. What it overwrites is kept in
 * 'replayUndo' so UNDO_REPLAY can restore it if the publish then fails.
 *
 * KEYS: job, idx:dead, spec. ARGV: nowIso, ttlSeconds, jobId, statusPrefix, idxTtl,
 * requestId.
 * Returns {'ok', attempts} | {'conflict', status} | {'missing'}.
 */
export const REPLAY = `${HELPERS}
local f = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'completedAt', 'deadLetteredAt', 'callback',
  'error', 'seriesBase', 'replays', 'requestId')
local status = f[1]
if not status then return {'missing'} end
if status ~= 'failed' and status ~= 'cancelled' then return {'conflict', status} end
local undo = cjson.encode({status = status, completedAt = f[3] or '', deadLetteredAt = f[4] or '',
  callback = f[5] or '', error = f[6] or '', seriesBase = f[7] or '0', replays = f[8] or '0', requestId = f[9] or ''})
local deadScore = redis.call('ZSCORE', KEYS[2], ARGV[3])
redis.call('HSET', KEYS[1], 'status', 'queued', 'seriesBase', f[2], 'replays', (tonumber(f[8]) or 0) + 1,
  'updatedAt', ARGV[1], 'requestId', ARGV[6], 'replayUndo', undo, 'replayUndoDeadScore', deadScore or '')
redis.call('HDEL', KEYS[1], 'completedAt', 'deadLetteredAt', 'callback', 'error', 'nextAttemptAt')
redis.call('ZREM', KEYS[2], ARGV[3])
moveStatus(KEYS[1], ARGV[3], status, 'queued', ARGV[4], ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
return {'ok', f[2]}
`;

/**
 * Restores a job to what REPLAY overwrote, if nothing has happened to it since
 * (still queued, same attempt count).
 *
 * KEYS: job, idx:dead. ARGV: attempts, jobId, statusPrefix, idxTtl.
 */
export const UNDO_REPLAY = `${HELPERS}
local f = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'replayUndo', 'replayUndoDeadScore')
if f[1] ~= 'queued' or f[2] ~= ARGV[1] or not f[3] then return 0 end
local u = cjson.decode(f[3])
redis.call('HSET', KEYS[1], 'status', u.status, 'completedAt', u.completedAt, 'deadLetteredAt', u.deadLetteredAt,
  'callback', u.callback, 'error', u.error, 'seriesBase', u.seriesBase, 'replays', u.replays, 'requestId', u.requestId)
redis.call('HDEL', KEYS[1], 'replayUndo', 'replayUndoDeadScore')
if f[4] and f[4] ~= '' then redis.call('ZADD', KEYS[2], f[4], ARGV[2]) end
moveStatus(KEYS[1], ARGV[2], 'queued', u.status, ARGV[3], ARGV[4])
return 1
`;

/**
 * Updates the callback state only if the job still exists (never creates a
 * partial hash). KEYS: job, counters, spec. ARGV: callback, nowIso,
 * ttlSeconds, counter ('' = none).
 */
export const SET_CALLBACK = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'callback', ARGV[1], 'updatedAt', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[4], 1) end
return 1
`;
