--[[
  Records an attempt and the job's next state; releases the lease. A job whose
  cancel arrived during the attempt ends cancelled instead of retrying; a job
  that is already final is left as it is.

  The log is a list of at most logMax entries: attempt n at index
  n - 1 - logDropped, where the hash field logDropped counts the oldest
  entries dropped to keep the cap. Writing the same attempt twice overwrites
  it (an attempt already dropped is not written again), so the write stays
  idempotent after the cap; attempts missing before n are padded with ''.

  KEYS[1]   job hash
  KEYS[2]   attempt log (list)
  KEYS[3]   counters hash
  KEYS[4]   index of dead-lettered jobs
  KEYS[5]   spec string
  KEYS[6]   deadline index: a retrying job must progress by its due time, an
            ended one with a callback by now; otherwise it leaves the index

  ARGV[1]   attempt         1-based attempt number
  ARGV[2]   attemptJson     the log entry
  ARGV[3]   status          the job's next status, as the worker decided it
  ARGV[4]   nextAttemptAt   kept only if the status is retrying
  ARGV[5]   lastStatusCode  '' when the attempt got no response
  ARGV[6]   errorJson       '' when none
  ARGV[7]   callback        stored callback state (callback-state.ts), set only when the job ends; '' = none
  ARGV[8]   nowIso
  ARGV[9]   ttlSeconds
  ARGV[10]  jobId
  ARGV[11]  statusPrefix
  ARGV[12]  idxTtl
  ARGV[13]  deadLettered    '1' when the job was published to the dead-letter exchange
  ARGV[14]  nowMs           score in the dead-letter index
  ARGV[15]  nextAttemptAtMs the retry's due time as epoch ms ('' when not retrying)
  ARGV[16]  logMax          most entries the attempt log keeps (ATTEMPT_LOG_MAX)
  ARGV[17]  trimBefore      drop index entries scored below this; '' = no trim
  ARGV[18]  refreshIndex    '1' = refresh the lifetime of the index of ARGV[3]; '' = leave it
                            (store/index-refresh.ts). Any other status index (cancelled instead of
                            retrying) and the dead letters' index are always refreshed.

  Returns {'written', status} with the status written, or {'superseded', status}
  with the job's own status when it was not written (see below).
]]
local n, entry, status, now, ttl = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[8], ARGV[9]
local jobId, statusPrefix, idxTtl = ARGV[10], ARGV[11], ARGV[12]
-- Every field this script reads or may delete, in one call: which fields to
-- delete is decided here, so that one HDEL (or none) deletes only what exists.
local cur = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'cancelRequested', 'logDropped', 'createdAtMs',
  'nextAttemptAt', 'lastStatusCode', 'error', 'leaseToken', 'leaseUntil')
local old, done = cur[1], tonumber(cur[2]) or 0
-- This attempt already wrote the job's end (a write retried after its reply
-- was lost): it stands as written. A job that ended otherwise while the
-- attempt ran (a cancel after the lease expired), or that a later attempt has
-- moved on (an outcome held past the lease), is not written over.
if old and isFinal(old) then return {done == n and 'written' or 'superseded', old} end
if n < done then return {'superseded', old} end
if status == STATUS.retrying and cur[3] == '1' then status = STATUS.cancelled end
local logMax, trimBefore = tonumber(ARGV[16]), ARGV[17]
local pttl = redis.call('PTTL', KEYS[1])
local dropped = tonumber(cur[4]) or 0
local at = n - 1 - dropped
local len = redis.call('LLEN', KEYS[2])
local sets = {'status', status, 'attempts', ARGV[1], 'updatedAt', now}
local dels = {}
local function put(field, value) sets[#sets + 1] = field; sets[#sets + 1] = value end
-- Deletes a field the HMGET above found (its index in `cur`).
local function drop(field, i) if cur[i] then dels[#dels + 1] = field end end
if at >= 0 and at < len then
  redis.call('LSET', KEYS[2], at, entry)
elseif at >= len + logMax - 1 then
  -- The padding alone would push every kept entry out: keep only this one.
  redis.call('RPUSH', KEYS[2], entry)
  redis.call('LTRIM', KEYS[2], -1, -1)
  put('logDropped', n - 1)
elseif at >= len then
  for _ = len + 1, at do redis.call('RPUSH', KEYS[2], '') end
  redis.call('RPUSH', KEYS[2], entry)
  local over = at + 1 - logMax
  if over > 0 then
    redis.call('LTRIM', KEYS[2], over, -1)
    put('logDropped', dropped + over)
  end
end
-- A log this call created lives as long as the hash, refreshed or not below.
if len == 0 and pttl > 0 then redis.call('PEXPIRE', KEYS[2], pttl) end
if status == STATUS.retrying then put('nextAttemptAt', ARGV[4]) else drop('nextAttemptAt', 6) end
if ARGV[5] ~= '' then put('lastStatusCode', ARGV[5]) else drop('lastStatusCode', 7) end
if ARGV[6] ~= '' then put('error', ARGV[6]) else drop('error', 8) end
drop('leaseToken', 9)
drop('leaseUntil', 10)
if isFinal(status) then
  put('completedAt', now)
  drop('cancelRequested', 3)
  if ARGV[7] ~= '' then put('callback', ARGV[7]) end
end
local deadLettered = status == STATUS.failed and ARGV[13] == '1'
if deadLettered then put('deadLetteredAt', now) end
redis.call('HSET', KEYS[1], unpack(sets))
if #dels > 0 then redis.call('HDEL', KEYS[1], unpack(dels)) end
if deadLettered then
  redis.call('ZADD', KEYS[4], ARGV[14], jobId)
  trimIndex(KEYS[4], trimBefore)
  refreshIndex(KEYS[4], idxTtl)
  redis.call('HINCRBY', KEYS[3], COUNTER.deadLettered, 1)
end
if status == STATUS.retrying then
  redis.call('ZADD', KEYS[6], ARGV[15], jobId)
elseif isFinal(status) and ARGV[7] ~= '' then
  redis.call('ZADD', KEYS[6], ARGV[14], jobId)
else
  redis.call('ZREM', KEYS[6], jobId)
end
local statusIdxTtl = (status ~= ARGV[3] or ARGV[18] == '1') and idxTtl or ''
moveStatus(KEYS[1], jobId, old, status, statusPrefix, statusIdxTtl, trimBefore, cur[5] or '0')
local counter = STATUS_COUNTER[status]
if counter then redis.call('HINCRBY', KEYS[3], counter, 1) end
refreshJobIfAged(pttl, ttl, KEYS[1], KEYS[5], KEYS[2])
return {'written', status}
