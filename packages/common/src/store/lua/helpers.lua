--[[
  Helpers prepended to every script (after the generated constants STATUS,
  FINAL, STATUS_COUNTER, COUNTER and LAYOUT_VERSION; see lua-loader.ts).

  Status index keys are built from a prefix argument: fine on one Redis
  server, not on Redis Cluster (relay targets one server).
]]

-- Moves job `id` from status index `old` (if any) to `new`, scored by its creation time.
local function moveStatus(jobKey, id, old, new, statusPrefix, idxTtl)
  local score = redis.call('HGET', jobKey, 'createdAtMs') or '0'
  if old and old ~= new then redis.call('ZREM', statusPrefix .. old, id) end
  redis.call('ZADD', statusPrefix .. new, score, id)
  redis.call('EXPIRE', statusPrefix .. new, idxTtl)
end

-- Empty values are deleted rather than stored: every field of the hash costs memory.
local function setOrDel(key, field, value)
  if value == '' then redis.call('HDEL', key, field) else redis.call('HSET', key, field, value) end
end

local function isFinal(status)
  return FINAL[status] == true
end
