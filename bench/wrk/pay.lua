-- POST /api/v1/payments, each request paying another held reservation once.
-- BENCH_PAYMENTS: "apiKey reservationId" lines.
dofile(os.getenv("BENCH_WRK_DIR") .. "/common.lua")
local items
local n = 0

function init(args)
  items = {}
  for _, l in ipairs(lines(os.getenv("BENCH_PAYMENTS"))) do items[#items + 1] = words(l) end
end

function request()
  local i = (n * threads + (tid or 0)) % #items + 1
  n = n + 1
  local it = items[i]
  return wrk.format("POST", "/api/v1/payments", {
    ["Authorization"] = "Bearer " .. it[1],
    ["Content-Type"] = "application/json",
  }, '{"reservationId":"' .. it[2] .. '"}')
end
