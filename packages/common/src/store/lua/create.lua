--[[
  Stores a new job and indexes it: one command instead of a MULTI of a dozen,
  so that a burst of submissions costs Redis (and the backend's socket) one
  write each.

  KEYS[1]   job hash
  KEYS[2]   counters hash
  KEYS[3]   spec string
  KEYS[4]   deadline index (the job must be started by its creation time)
  KEYS[5..] the indexes the job goes into (all, status, host, metadata)

  ARGV[1]   ttlSeconds   lifetime of the job's keys
  ARGV[2]   idxTtl       lifetime of an index after its newest entry; '' = leave it (store/index-refresh.ts)
  ARGV[3]   createdAtMs  score in the indexes
  ARGV[4]   jobId
  ARGV[5]   trimBefore   drop index entries scored below this; '' = no trim
  ARGV[6]   specJson
  ARGV[7..] field, value pairs of the job hash (the summary fields a listing
            reads included: job-fields.ts)
  The last QUOTA_ARGC arguments, after the pairs (the quotas of quotas.ts):
  ARGV[q+1]  quotaOn          '1' = check the application's quotas, '0' = store unchecked
  ARGV[q+2]  recordKey        the application's record (its quota fields; absent = defaults)
  ARGV[q+3]  statusPrefix     prefix of the application's status indexes
  ARGV[q+4]  bytesKey         hash: bytes of specs stored, by time bucket
  These three keys are in the application's slot, like KEYS (the hash tag of
  keys/redis-keys.ts), so the script stays on one slot on Redis Cluster.
  ARGV[q+5]  defMaxUnfinished server defaults for a quota the record leaves empty
  ARGV[q+6]  defMaxBytes
  ARGV[q+7]  defMaxPriority
  ARGV[q+8]  priority         the job's priority
  ARGV[q+9]  jobBytes         what the job counts against maxStoredBytes
  ARGV[q+10] bucketMs         width of a bytes bucket (QUOTA_BYTE_BUCKETS per job lifetime)

  Returns 1, or on a refusal (nothing written) {quota, limit, current}.
]]
local ttl, idxTtl, createdAtMs, jobId, trimBefore = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local QUOTA_ARGC = 10
local q = #ARGV - QUOTA_ARGC
local bytesBucket = nil
if ARGV[q + 1] == '1' then
  local rec = redis.call('HMGET', ARGV[q + 2], 'quotaMaxUnfinishedJobs', 'quotaMaxStoredBytes', 'quotaMaxPriority')
  local function setting(v, default) if v and v ~= '' then return v end return default end
  local maxPriority = setting(rec[3], ARGV[q + 7])
  if PRIORITY_RANK[ARGV[q + 8]] > PRIORITY_RANK[maxPriority] then
    return {'maxPriority', maxPriority, ARGV[q + 8]}
  end
  local maxUnfinished = tonumber(setting(rec[1], ARGV[q + 5]))
  local unfinished = 0
  for _, s in pairs(STATUS) do
    if not FINAL[s] then unfinished = unfinished + redis.call('ZCARD', ARGV[q + 3] .. s) end
  end
  if unfinished >= maxUnfinished then return {'maxUnfinishedJobs', maxUnfinished, unfinished} end
  -- A job created in bucket b expires before bucket b + QUOTA_BYTE_BUCKETS + 1
  -- begins, so older buckets hold only expired jobs: dropped, not counted.
  local maxBytes = tonumber(setting(rec[2], ARGV[q + 6]))
  bytesBucket = math.floor(tonumber(createdAtMs) / tonumber(ARGV[q + 10]))
  local held, stale = 0, {}
  local buckets = redis.call('HGETALL', ARGV[q + 4])
  for i = 1, #buckets, 2 do
    if tonumber(buckets[i]) < bytesBucket - QUOTA_BYTE_BUCKETS then
      stale[#stale + 1] = buckets[i]
    else
      held = held + tonumber(buckets[i + 1])
    end
  end
  if #stale > 0 then redis.call('HDEL', ARGV[q + 4], unpack(stale)) end
  if held + tonumber(ARGV[q + 9]) > maxBytes then return {'maxStoredBytes', maxBytes, held} end
end
local fields = {}
for i = 7, q do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[3], ARGV[6], 'EX', ttl)
redis.call('ZADD', KEYS[4], createdAtMs, jobId)
for i = 5, #KEYS do
  redis.call('ZADD', KEYS[i], createdAtMs, jobId)
  trimIndex(KEYS[i], trimBefore)
  refreshIndex(KEYS[i], idxTtl)
end
redis.call('HINCRBY', KEYS[2], COUNTER.created, 1)
if bytesBucket then
  redis.call('HINCRBY', ARGV[q + 4], bytesBucket, ARGV[q + 9])
  redis.call('PEXPIRE', ARGV[q + 4], tonumber(ttl) * 1000 + 2 * tonumber(ARGV[q + 10]))
end
return 1
