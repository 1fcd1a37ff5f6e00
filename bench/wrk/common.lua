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

-- Call from init() (wrk sets the Host header before it). A request formatted once with a marker where the varying part goes, split around it: each
-- request is then two concatenations instead of a wrk.format call. The load generator shares
-- two cores with encore, so every microsecond it spends per request is taken from the server.
function template(method, path, headers, body)
  local marker = "\0VARY\0"
  for k, v in pairs(headers) do headers[k] = v:gsub("%$", marker) end
  local raw = wrk.format(method, path, headers, body)
  local at = raw:find(marker, 1, true)
  return raw:sub(1, at - 1), raw:sub(at + #marker)
end

threads = tonumber(os.getenv("BENCH_THREADS") or "2")
