-- Shared by the wrk scripts: each wrk thread gets an id so threads never send the same item.
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function lines(path)
  local t = {}
  for line in io.lines(path) do
    if line ~= "" then t[#t + 1] = line end
  end
  return t
end

function words(line)
  local t = {}
  for w in line:gmatch("%S+") do t[#t + 1] = w end
  return t
end

threads = tonumber(os.getenv("BENCH_THREADS") or "2")
