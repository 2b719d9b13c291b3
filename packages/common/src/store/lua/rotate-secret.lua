--[[
  Rotates an application's signing secrets in one step: every earlier secret
  stops signing at the end of the grace period at the latest (so a grace of 0
  retires them all at once, as after a leak), expired ones are dropped, the
  new one goes first. Atomic, so two rotations cannot lose one. ISO-8601 UTC
  timestamps compare correctly as strings.

  KEYS[1]   application record hash

  ARGV[1]   entryJson    the new secret's entry
  ARGV[2]   expiresAt    ISO time the earlier secrets stop signing at the latest
  ARGV[3]   nowIso

  Returns 1, or 0 for an unknown application.
]]
local entry, expiresAt, now = ARGV[1], ARGV[2], ARGV[3]
local raw = redis.call('HGET', KEYS[1], 'signingSecrets')
if not raw then return 0 end
local out = {cjson.decode(entry)}
for _, s in ipairs(cjson.decode(raw)) do
  if s.expiresAt == cjson.null or s.expiresAt == nil or s.expiresAt > expiresAt then s.expiresAt = expiresAt end
  if s.expiresAt > now then table.insert(out, s) end
end
redis.call('HSET', KEYS[1], 'signingSecrets', cjson.encode(out))
return 1
