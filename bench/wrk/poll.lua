-- GET /api/v1/queue round-robin over the tokens in BENCH_TOKENS (one per line).
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local requests = {}
local n = 0

function init(args)
  -- Formatted once: a poll is the cheapest call, so the load generator's own cost shows most.
  for _, token in ipairs(lines(os.getenv("BENCH_TOKENS"))) do
    requests[#requests + 1] = wrk.format("GET", "/api/v1/queue", { ["X-Queue-Token"] = token })
  end
end

function request()
  local i = (n * threads + (tid or 0)) % #requests + 1
  n = n + 1
  return requests[i]
end
