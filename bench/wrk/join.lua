-- POST /api/v1/concerts/{BENCH_CONCERT}/queue, each request as another seeded user
-- (API key = BENCH_KEY_PREFIX .. n), so every request is a new ticket at the back of one line.
-- BENCH_LIMIT, if set, keeps n below it (keys warmed by signin.lua).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local path = "/api/v1/concerts/" .. os.getenv("BENCH_CONCERT") .. "/queue"
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
local limit = tonumber(os.getenv("BENCH_LIMIT") or "1000000000")
local head, tail
local n = 0

function init(args)
  head, tail = template("POST", path, { ["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY_PREFIX") .. "$" }, "")
end

function request()
  local i = offset + (n * threads + (tid or 0)) % limit
  n = n + 1
  return head .. i .. tail
end
