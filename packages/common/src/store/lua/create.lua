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
  ARGV[2]   idxTtl       lifetime of an index after its newest entry
  ARGV[3]   createdAtMs  score in the indexes
  ARGV[4]   jobId
  ARGV[5]   trimBefore   drop index entries scored below this; '' = no trim
  ARGV[6]   specJson
  ARGV[7..] field, value pairs of the job hash (the summary fields a listing
            reads included: job-fields.ts)
]]
local ttl, idxTtl, createdAtMs, jobId, trimBefore = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[3], ARGV[6], 'EX', ttl)
redis.call('ZADD', KEYS[4], createdAtMs, jobId)
for i = 5, #KEYS do
  redis.call('ZADD', KEYS[i], createdAtMs, jobId)
  trimIndex(KEYS[i], trimBefore)
  redis.call('EXPIRE', KEYS[i], idxTtl)
end
redis.call('HINCRBY', KEYS[2], COUNTER.created, 1)
return 1
