-- GET /api/v1/users/me as seeded user BENCH_OFFSET + n: what the web front does on page load.
-- Every request is a key the service has not seen yet, so it measures the auth cache miss.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
local head, tail
local n = 0

function init(args)
  head, tail = template("GET", "/api/v1/users/me", { ["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY_PREFIX") .. "$" })
end

function request()
  local i = offset + n * threads + (tid or 0)
  n = n + 1
  return head .. i .. tail
end
