-- GET /api/v1/schedules/{BENCH_SCHEDULE}/seatmap with Accept-Encoding: gzip, round-robin over the
-- admitted fans of BENCH_HOLDERS ("apiKey queueToken" lines), as a fan's page reads the map.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local path = "/api/v1/schedules/" .. os.getenv("BENCH_SCHEDULE") .. "/seatmap"
local requests = {}
local n = 0

function init(args)
  -- Formatted once, as in poll.lua: the load generator shares the two cores with the server.
  for _, l in ipairs(lines(os.getenv("BENCH_HOLDERS"))) do
    local h = words(l)
    requests[#requests + 1] = wrk.format("GET", path, {
      ["Authorization"] = "Bearer " .. h[1],
      ["X-Queue-Token"] = h[2],
      ["Accept-Encoding"] = "gzip",
    })
  end
end

function request()
  local i = (n * threads + (tid or 0)) % #requests + 1
  n = n + 1
  return requests[i]
end
