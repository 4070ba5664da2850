-- infra-security rate-limit decision: decide and record in one atomic step, one round trip.
-- KEYS[1]  the key
-- ARGV[1]  algorithm: "gcra" or "sliding_window"
-- GCRA (the lean path: three arguments, one integer back):
--   ARGV[2]  cost in microseconds (weight * emission interval, integer)
--   ARGV[3]  tolerance in microseconds (capacity * emission interval, integer)
--   ARGV[4]  now in microseconds, or "" to use the server's clock (TIME), shared by every client
--   Returns tat - now after the decision: > 0 when admitted (the new tat was recorded), its negation when
--   denied (nothing written). The client derives remaining, retry-after and reset from it and the policy.
-- Sliding window:
--   ARGV[2] weight, ARGV[3] emission interval (unused), ARGV[4] capacity (limit + burst),
--   ARGV[5] period in microseconds, ARGV[6] now in microseconds or ""
--   Returns {allowed (0/1), remaining, retry_after_us, reset_after_us, next_free_us}.
-- Integer microseconds keep GCRA exact: capacity * interval is a whole number, so exactly `capacity`
-- requests fit in a fresh bucket whatever the epoch (times stay far below 2^53).
-- TIME before a write needs effects replication: the default since Redis 5 (and the only mode in 7).
if ARGV[1] == "gcra" then
  local now
  if ARGV[4] ~= "" then
    now = tonumber(ARGV[4])
  else
    local t = redis.call("TIME")
    now = t[1] * 1000000 + t[2]
  end
  local tat = tonumber(redis.call("GET", KEYS[1]))
  if tat == nil or tat < now then tat = now end
  local new_tat = tat + tonumber(ARGV[2])
  if new_tat - tonumber(ARGV[3]) <= now then
    redis.call("SET", KEYS[1], string.format("%d", new_tat), "PX", math.ceil((new_tat - now) / 1000))
    return new_tat - now
  end
  return now - tat
end

local now
if ARGV[6] ~= "" then
  now = tonumber(ARGV[6])
else
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local weight = tonumber(ARGV[2])
local capacity = tonumber(ARGV[4])

-- sliding window counter
local period = tonumber(ARGV[5])
local window = math.floor(now / period)
local state = redis.call("HMGET", KEYS[1], "w", "p", "c")
local prev, curr = 0, 0
local w = tonumber(state[1])
if w == window then
  prev, curr = tonumber(state[2]), tonumber(state[3])
elseif w == window - 1 then
  prev, curr = tonumber(state[3]), 0
end
local start = window * period
local frac = (now - start) / period
local estimate = prev * (1 - frac) + curr

local function wait_for(units, p, c)
  local room = capacity - c - units
  if room >= 0 then
    if p <= 0 then return 0 end
    return math.max(0, math.ceil(start + (1 - room / p) * period - now))
  end
  if c <= 0 then return math.max(0, start + period - now) end
  local f = math.max(0, 1 - (capacity - units) / c)
  return math.max(0, math.ceil(start + period + f * period - now))
end

local function reset_after(p, c)
  if c > 0 then return start + 2 * period - now end
  if p > 0 then return start + period - now end
  return 0
end

if estimate + weight <= capacity + 1e-9 then
  curr = curr + weight
  redis.call("HSET", KEYS[1], "w", window, "p", prev, "c", curr)
  redis.call("PEXPIRE", KEYS[1], math.max(1, math.ceil((start + 2 * period - now) / 1000)))
  local remaining = math.floor(capacity - estimate - weight + 1e-9)
  return {1, math.max(0, remaining), 0, reset_after(prev, curr), wait_for(1, prev, curr)}
end
return {0, math.max(0, math.floor(capacity - estimate + 1e-9)), wait_for(weight, prev, curr), reset_after(prev, curr),
  wait_for(1, prev, curr)}
