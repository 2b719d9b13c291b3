--[[
  Helpers prepended to every script (after the generated constants STATUS,
  FINAL, STATUS_COUNTER, COUNTER and LAYOUT_VERSION; see lua-loader.ts).

  Status index keys are built from a prefix argument (statusPrefix) rather
  than passed in KEYS, since a script learns which status it leaves only once
  it has read the job. The prefix carries the application's hash tag, so
  every key built from it hashes to the slot of the declared KEYS: Redis
  Cluster runs such a script on the node that owns the slot (keys/redis-keys.ts).
]]

-- Drops the entries of index `key` scored below `trimBefore` (older than the
-- index window); '' or nil = no trim. TypeScript decides when (one add in
-- TRIM_EVERY, job-store.ts), so every index a script adds to stays within its
-- window however long relay runs.
local function trimIndex(key, trimBefore)
  if trimBefore and trimBefore ~= '' then redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. trimBefore) end
end

-- Gives index `key` its lifetime again, unless `idxTtl` is '': the caller
-- refreshes each index at most once a minute (store/index-refresh.ts).
local function refreshIndex(key, idxTtl)
  if idxTtl ~= '' then redis.call('EXPIRE', key, idxTtl) end
end

-- Moves job `id` from status index `old` (if any) to `new`, scored by its creation time
-- (`score`, the hash's createdAtMs when the caller has read it already: one call less),
-- and trims `new` when given a `trimBefore` (see trimIndex).
local function moveStatus(jobKey, id, old, new, statusPrefix, idxTtl, trimBefore, score)
  score = score or redis.call('HGET', jobKey, 'createdAtMs') or '0'
  if old and old ~= new then redis.call('ZREM', statusPrefix .. old, id) end
  redis.call('ZADD', statusPrefix .. new, score, id)
  trimIndex(statusPrefix .. new, trimBefore)
  refreshIndex(statusPrefix .. new, idxTtl)
end

-- Refreshes the lifetime of all of a job's keys together (hash, spec, attempt
-- log), so that none outlives or dies before the others.
local function refreshJob(ttl, hashKey, specKey, logKey)
  redis.call('EXPIRE', hashKey, ttl)
  redis.call('EXPIRE', specKey, ttl)
  if logKey then redis.call('EXPIRE', logKey, ttl) end
end

-- The hot scripts (begin-attempt, record-attempt, set-callback) refresh a
-- job's lifetime only once a little of it has run: when the hash's remaining
-- time `pttl` (ms, from PTTL; -1 = none) is more than the slack below the full
-- TTL. The slack is 1% of the TTL, at most 60 s, so a job's keys live at least
-- TTL - slack after its last write, and the writes of one attempt (begin,
-- record, callback), milliseconds apart, refresh them once instead of three
-- times: every redis.call costs about 1.3 µs of Redis CPU beyond its own work,
-- measured (docs/benchmarks.md, "Redis calls per job").
local function refreshJobIfAged(pttl, ttl, hashKey, specKey, logKey)
  local ttlMs = tonumber(ttl) * 1000
  if pttl >= 0 and pttl > ttlMs - math.min(ttlMs / 100, 60000) then return false end
  refreshJob(ttl, hashKey, specKey, logKey)
  return true
end

-- Ends job `id` (whose status was `old`) as cancelled now: its lease and
-- pending cancel go, its callback (stored form; '' = none) is set and due at
-- `dueMs` in the deadline index, or the job leaves that index. `keys` holds
-- job, counters, spec, log and deadlines.
local function endCancelled(keys, id, old, now, dueMs, callback, statusPrefix, idxTtl, trimBefore, ttl)
  redis.call('HSET', keys.job, 'status', STATUS.cancelled, 'completedAt', now, 'updatedAt', now)
  redis.call('HDEL', keys.job, 'cancelRequested', 'leaseToken', 'leaseUntil', 'nextAttemptAt')
  if callback ~= '' then
    redis.call('HSET', keys.job, 'callback', callback)
    redis.call('ZADD', keys.deadlines, dueMs, id)
  else
    redis.call('ZREM', keys.deadlines, id)
  end
  moveStatus(keys.job, id, old, STATUS.cancelled, statusPrefix, idxTtl, trimBefore)
  redis.call('HINCRBY', keys.counters, STATUS_COUNTER[STATUS.cancelled], 1)
  refreshJob(ttl, keys.job, keys.spec, keys.log)
end

local function isFinal(status)
  return FINAL[status] == true
end
