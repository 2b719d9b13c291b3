--[[
  Authenticates an API key in one round trip: key hash -> application id ->
  the fields a request needs.

  KEYS[1]   api key string (by the key's hash), holding the application id

  ARGV[1]   recordPrefix  key of an application record without its id

  Returns {id, rateLimitJson or ''}, or nil for an unknown or revoked key.
]]
local id = redis.call('GET', KEYS[1])
if not id then return false end
local f = redis.call('HMGET', ARGV[1] .. id, 'revokedAt', 'rateLimit')
if f[1] and f[1] ~= '' then return false end
return {id, f[2] or ''}
