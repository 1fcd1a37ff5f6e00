-- POST /api/v1/reservations on seats nobody holds yet: request i takes seat (i % SEATS) + 1 of
-- schedule (i / SEATS), as holder (i % holders). BENCH_HOLDERS: "apiKey queueToken" lines;
-- BENCH_SCHEDULES: schedule ids, each with BENCH_SEATS seats.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local holders, schedules
local seats = tonumber(os.getenv("BENCH_SEATS"))
local n = 0

function init(args)
  holders = {}
  for _, l in ipairs(lines(os.getenv("BENCH_HOLDERS"))) do holders[#holders + 1] = words(l) end
  schedules = lines(os.getenv("BENCH_SCHEDULES"))
end

function request()
  local i = n * threads + (tid or 0)
  n = n + 1
  local h = holders[i % #holders + 1]
  local schedule = schedules[math.floor(i / seats) % #schedules + 1]
  local body = string.format('{"scheduleId":"%s","seatNumber":%d}', schedule, i % seats + 1)
  return wrk.format("POST", "/api/v1/reservations", {
    ["Authorization"] = "Bearer " .. h[1],
    ["X-Queue-Token"] = h[2],
    ["Content-Type"] = "application/json",
  }, body)
end
