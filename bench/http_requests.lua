-- wrk's script for bench/http.py. Each wrk thread walks the request file from its own offset in steps of
-- the thread count, so no two requests in a run repeat until the file is used up.
-- A line of that file is "path<TAB>extra headers<TAB>body".
local counter = 1
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  lines = {}
  for line in io.lines(args[1]) do table.insert(lines, line) end
  step = tonumber(args[2])
  index = tid
  method = args[3]
end
function request()
  local line = lines[(index - 1) % #lines + 1]
  index = index + step
  local path, extra, body = line:match("([^\t]*)\t([^\t]*)\t(.*)")
  local headers = {}
  for name, value in extra:gmatch("([^:;]+): ([^;]*)") do headers[name] = value end
  if body == "" then body = nil end
  return wrk.format(method, path, headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "seconds": %.3f, "p50_ms": %.2f, "p99_ms": %.2f, "bad_status": %d, ' ..
    '"socket_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect + e.read + e.write + e.timeout))
end
