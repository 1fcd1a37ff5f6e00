-- encore's waiting queue in Redis: the shared prelude of every script.
-- Every script runs atomically, so no two instances can admit past the cap or out of order.
--
-- KEYS (all of one concert, under one hash tag so they share a cluster slot):
--   1 waiting  ZSET ticket -> place in line (ZRANK + 1 is the position): the draw key of a
--              drawn ticket (< 2^48), LATER + the join sequence of a ticket that joined after
--   2 active   ZSET ticket -> activeUntil (ms)
--   3 seen     ZSET ticket -> last heartbeat of a WAITING ticket (ms), for the idle drop; 0 for
--              a drawn ticket not polled since the draw, which counts as seen at the draw
--   4 owners   HASH ticket -> user id
--   5 users    HASH user id -> ticket (one live ticket per user and concert)
--   6 meta     HASH seq (join counter), b/c/p/f (admission-rate buckets, see rate.rs),
--              drawn (the time of the draw, once the pre-queue is drawn)
--   7 pre      ZSET ticket -> join sequence of a PRE_QUEUE ticket (before the on-sale time)
--   8 record   ZSET the drawn tickets -> their place in the draw (the draw's public record)
--   9 order    ZSET ticket -> draw key of a PRE_QUEUE ticket (see draw.rs): the pre-queue
--              kept in drawn order as it fills, so the draw itself only renames and copies
--  10 ties     SET  draw keys that two or more PRE_QUEUE tickets share, for the drawing
--              instance to order by the whole HMAC
-- ARGV: 1 now (ms), 2 active limit (the live limit, the free places, 0 while paused),
--       3 active TTL (ms), 4 idle timeout (ms), 5 work budget per phase, 6 pub/sub channel,
--       7 concert id, 8 admissions per minute ('' for no cap), then the script's own.

-- Hot paths hand `now` to redis.call as ARGV[1], the string it came as, and return numbers as
-- integer replies: a Lua number passed to redis.call or to tostring goes through printf's float
-- formatting, which was about 5% of Redis's CPU in a join profile.
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local idle = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local per_minute = tonumber(ARGV[8])
local BUCKET = 60000
-- Where the scores of tickets that joined after the draw start: above every draw key.
local LATER = 281474976710656

-- Takes a ticket out of every structure of its line; 1 if it was anywhere. Each structure is
-- cleaned on its own: a ticket left half-removed (its owner entry evicted, or a script cut
-- short) must still leave `active`, or it would hold a slot under the cap for ever.
local function remove(id)
  local gone = redis.call('ZREM', KEYS[1], id) + redis.call('ZREM', KEYS[2], id)
    + redis.call('ZREM', KEYS[7], id)
  redis.call('ZREM', KEYS[9], id)
  redis.call('ZREM', KEYS[3], id)
  local user = redis.call('HGET', KEYS[4], id)
  if user then
    redis.call('HDEL', KEYS[4], id)
    if redis.call('HGET', KEYS[5], user) == id then redis.call('HDEL', KEYS[5], user) end
    gone = 1
  end
  if gone > 0 then return 1 end
  return 0
end

local function record_admissions(n)
  local b = now - (now % BUCKET)
  local m = redis.call('HMGET', KEYS[6], 'b', 'c', 'f')
  local cb = tonumber(m[1])
  if cb == b then
    redis.call('HINCRBY', KEYS[6], 'c', n)
  else
    local prev = 0
    if cb ~= nil and cb + BUCKET == b then prev = tonumber(m[2]) or 0 end
    redis.call('HSET', KEYS[6], 'b', b, 'c', n, 'p', prev)
  end
  if not m[3] then redis.call('HSET', KEYS[6], 'f', now) end
end

-- Expires what is due and admits waiters into free slots; publishes when anything changed.
local function maintain()
  local changed = false
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, budget)) do
    remove(id)
    changed = true
  end
  -- A heartbeat of 0 is the draw's: such a ticket is not idle until the draw is `idle` ago.
  local from = '-inf'
  if (tonumber(redis.call('HGET', KEYS[6], 'drawn')) or 0) > now - idle then from = '(0' end
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], from, now - idle, 'LIMIT', 0, budget)) do
    remove(id)
    changed = true
  end
  local free = limit - redis.call('ZCARD', KEYS[2])
  if free > budget then free = budget end
  if per_minute then
    -- The cap counts this minute's admissions over every instance (the rate buckets).
    local m = redis.call('HMGET', KEYS[6], 'b', 'c')
    local used = 0
    if tonumber(m[1]) == now - (now % BUCKET) then used = tonumber(m[2]) or 0 end
    if per_minute - used < free then free = per_minute - used end
  end
  if free > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[1], free)
    local n = 0
    for i = 1, #popped, 2 do
      redis.call('ZADD', KEYS[2], now + ttl, popped[i])
      redis.call('ZREM', KEYS[3], popped[i])
      n = n + 1
    end
    if n > 0 then
      record_admissions(n)
      changed = true
    end
  end
  if changed then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
  return changed
end

-- A ticket's standing as one integer: its position (> 0) while WAITING, minus its activeUntil
-- (< -1) while ACTIVE, -1 in the pre-queue, 0 once it is gone. One integer reply, not a ticket id and a status as
-- text: the caller knows which ticket it asked about, and reads the answer without parsing.
-- A ticket is in exactly one of `waiting` and `active` while it lives, so a waiter (the common
-- case in a crowd) costs one lookup.
local function code_of(id)
  local rank = redis.call('ZRANK', KEYS[1], id)
  if rank then return rank + 1 end
  local untl = redis.call('ZSCORE', KEYS[2], id)
  if untl then return -tonumber(untl) end
  if redis.call('ZSCORE', KEYS[7], id) then return -1 end
  return 0
end

-- Appends the admission-rate buckets (b, c, p, f; see rate.rs) to `out`.
local function with_rate(out)
  local m = redis.call('HMGET', KEYS[6], 'b', 'c', 'p', 'f')
  for j = 1, 4 do out[#out + 1] = m[j] or '' end
  return out
end
