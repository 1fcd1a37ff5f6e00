-- GET /api/v1/users/me as seeded user BENCH_OFFSET + n: what the web front does on page load.
-- Every request is a key the service has not seen yet, so it measures the auth cache miss.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local prefix = os.getenv("BENCH_KEY_PREFIX")
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
local n = 0

function request()
  local i = offset + n * threads + (tid or 0)
  n = n + 1
  return wrk.format("GET", "/api/v1/users/me", { ["Authorization"] = "Bearer " .. prefix .. i })
end
