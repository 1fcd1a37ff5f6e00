-- POST /api/v1/reservations, each request an order of BENCH_ORDER_SEATS (4) adjacent seats by
-- label that nobody holds yet. Every schedule's plan is section BENCH_SECTION (A) of rows "1",
-- "2", … of BENCH_ROW_SEATS (20) seats, so a row holds floor(ROW_SEATS / ORDER_SEATS) blocks
-- and every order is one block of one row: request i takes block (i % per schedule) of schedule
-- (i / per schedule), as holder (i % holders), where per schedule = BENCH_ROWS × blocks per row.
-- BENCH_HOLDERS: "apiKey queueToken" lines; BENCH_SCHEDULES: schedule ids.
-- BENCH_STRIDE, if set, takes the blocks of a schedule in steps of that many (mod blocks per
-- schedule; it must share no factor with that count), so held blocks are scattered over the
-- map as in a real on-sale rather than filling it from the front.
-- BENCH_DELAY_MS, if set, waits that long between a connection's requests: a modest steady
-- rate of holds beside another measurement rather than as many as the server takes.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local holders, schedules
local section = os.getenv("BENCH_SECTION") or "A"
local size = tonumber(os.getenv("BENCH_ORDER_SEATS") or "4")
local row_seats = tonumber(os.getenv("BENCH_ROW_SEATS") or "20")
local per_row = math.floor(row_seats / size)
local per_schedule = tonumber(os.getenv("BENCH_ROWS")) * per_row
local stride = tonumber(os.getenv("BENCH_STRIDE") or "1")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local n = 0

function init(args)
  holders = {}
  for _, l in ipairs(lines(os.getenv("BENCH_HOLDERS"))) do holders[#holders + 1] = words(l) end
  schedules = lines(os.getenv("BENCH_SCHEDULES"))
end

if pause > 0 then
  function delay()
    return pause
  end
end

function request()
  local i = n * threads + (tid or 0)
  n = n + 1
  local h = holders[i % #holders + 1]
  local schedule = schedules[math.floor(i / per_schedule) % #schedules + 1]
  local block = (i * stride) % per_schedule
  local row = math.floor(block / per_row) + 1
  local first = (block % per_row) * size + 1
  local labels = {}
  for k = 0, size - 1 do labels[#labels + 1] = string.format('"%s-%d-%d"', section, row, first + k) end
  local body = '{"scheduleId":"' .. schedule .. '","seats":[' .. table.concat(labels, ",") .. ']}'
  return wrk.format("POST", "/api/v1/reservations", {
    ["Authorization"] = "Bearer " .. h[1],
    ["X-Queue-Token"] = h[2],
    ["Content-Type"] = "application/json",
  }, body)
end
