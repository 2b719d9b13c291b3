--[[
  Changes the webhooks of an unfinished job: merges `changes` (a null value
  removes a key) into its effective map and stores the result in the hash
  field `webhooks`, which from then on shadows the spec's map (the spec never
  changes). A final job's webhooks can no longer fire, so the change is refused.

  KEYS[1]   job hash

  ARGV[1]   changes JSON   {key: url | null}
  ARGV[2]   base JSON      the spec's map, used while the hash has no `webhooks` field
  ARGV[3]   nowIso

  Returns {'ok', webhooksJson} | {'missing'} | {'final', status}.
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if FINAL[status] then return {'final', status} end
local map = cjson.decode(redis.call('HGET', KEYS[1], 'webhooks') or ARGV[2])
for key, url in pairs(cjson.decode(ARGV[1])) do
  if url == cjson.null then map[key] = nil else map[key] = url end
end
-- cjson writes an empty table as {}: an emptied map still shadows the spec's.
local json = cjson.encode(map)
redis.call('HSET', KEYS[1], 'webhooks', json, 'updatedAt', ARGV[3])
return {'ok', json}
