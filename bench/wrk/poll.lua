-- GET /api/v1/queue round-robin over the tokens in BENCH_TOKENS (one per line).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local tokens
local n = 0

function init(args)
  tokens = lines(os.getenv("BENCH_TOKENS"))
end

function request()
  local i = (n * threads + (tid or 0)) % #tokens + 1
  n = n + 1
  return wrk.format("GET", "/api/v1/queue", { ["X-Queue-Token"] = tokens[i] })
end
