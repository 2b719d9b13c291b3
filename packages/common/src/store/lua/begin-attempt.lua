--[[
  Decides whether an attempt may run now and, if so, takes the job's lease.
  The lease (token + expiry in Redis time) keeps two copies of the same
  attempt message, which at-least-once delivery allows, from calling the
  target at the same time. A missing job is recreated from the message's
  copy of the spec when one is given. A job whose cancel was requested while
  an earlier attempt ran (and whose lease has expired) ends cancelled here,
  without calling the target.

  KEYS[1]   job hash
  KEYS[2]   index of all jobs (a recreated job goes back into it)
  KEYS[3]   spec string
  KEYS[4]   deadline index: a running job must progress by its lease's end
  KEYS[5]   counters hash
  KEYS[6]   attempt log (its lifetime is refreshed with the hash's)

  ARGV[1]   attempt       1-based attempt number
  ARGV[2]   leaseToken
  ARGV[3]   leaseMs
  ARGV[4]   nowIso
  ARGV[5]   ttlSeconds
  ARGV[6]   specJson      '' = do not recreate a missing job
  ARGV[7]   createdAtMs   of a recreated job
  ARGV[8]   jobId
  ARGV[9]   statusPrefix  prefix of the status index keys
  ARGV[10]  idxTtl
  ARGV[11]  application   of a recreated job
  ARGV[12]  callback      stored callback state to set if the job ends cancelled; '' = none
  ARGV[13]  trimBefore    drop index entries scored below this; '' = no trim
  ARGV[14]  refreshIndex  '1' = refresh the in_progress index's lifetime; '' = leave it (store/index-refresh.ts)
  ARGV[15..] field, value pairs of the summary fields of a recreated job (job-fields.ts)

  Returns {'missing'} | {'run', status, done, '', '', webhooks}
    | {'final', status, done, '', '', webhooks, cancelledBefore}
    | {'stale', status, done, nextAttemptAt, scheduled, webhooks} | {'busy', status, done, leaseRemainingMs}
    | {'cancelled', status, done, '', '', webhooks}. `scheduled` is the highest attempt already published
    ('' = unknown). `webhooks` is the hash's webhooks map (JSON, '' = none, the spec's applies): the
    worker emits the job's events with it and needs no other round trip. `cancelledBefore` is the
    attempt this script ended the job cancelled before ('' = it did not): a copy of that very
    attempt's message emits the job's `cancelled` event again, a copy after a cancel by the API
    (which emitted it) does not.

]]
local n, token, leaseMs, now, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local specJson, createdAtMs, jobId, statusPrefix, idxTtl = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local FIELDS = {'status', 'attempts', 'leaseToken', 'leaseUntil', 'nextAttemptAt', 'scheduled', 'cancelRequested',
  'webhooks', 'cancelledBefore', 'createdAtMs'}
-- A job's hash always has a status: none means no job (one call instead of EXISTS and HMGET).
local f = redis.call('HMGET', KEYS[1], unpack(FIELDS))
if not f[1] then
  if specJson == '' then return {'missing'} end
  redis.call('HSET', KEYS[1], 'v', LAYOUT_VERSION, 'status', STATUS.queued, 'attempts', n - 1,
    'createdAtMs', createdAtMs, 'updatedAt', now, 'recreated', '1', 'app', ARGV[11])
  for i = 15, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
  redis.call('SET', KEYS[3], specJson, 'EX', ttl)
  redis.call('ZADD', KEYS[2], createdAtMs, jobId)
  trimIndex(KEYS[2], ARGV[13])
  f = redis.call('HMGET', KEYS[1], unpack(FIELDS))
end
local status = f[1]
local done = tonumber(f[2]) or 0
local webhooks = f[8] or ''
if isFinal(status) then return {'final', status, done, '', '', webhooks, f[9] or ''} end
if n <= done then return {'stale', status, done, f[5] or '', f[6] or '', webhooks} end
if status == STATUS.inProgress and f[3] ~= token then
  local untilMs = tonumber(f[4]) or 0
  if untilMs > nowMs then return {'busy', status, done, untilMs - nowMs} end
end
if f[7] == '1' then
  local keys = {job = KEYS[1], counters = KEYS[5], spec = KEYS[3], log = KEYS[6], deadlines = KEYS[4]}
  endCancelled(keys, jobId, status, now, nowMs, ARGV[12], statusPrefix, idxTtl, ARGV[13], ttl)
  redis.call('HSET', KEYS[1], 'cancelledBefore', n)
  return {'cancelled', status, done, '', '', webhooks}
end
redis.call('HSET', KEYS[1], 'status', STATUS.inProgress, 'leaseToken', token,
  'leaseUntil', nowMs + leaseMs, 'updatedAt', now)
if f[5] then redis.call('HDEL', KEYS[1], 'nextAttemptAt') end
redis.call('ZADD', KEYS[4], nowMs + leaseMs, jobId)
refreshJobIfAged(redis.call('PTTL', KEYS[1]), ttl, KEYS[1], KEYS[3], KEYS[6])
moveStatus(KEYS[1], jobId, status, STATUS.inProgress, statusPrefix, ARGV[14] == '1' and idxTtl or '', ARGV[13],
  f[10] or '0')
return {'run', status, done, '', '', webhooks}
