-- wrk script: POST one JSON body per request (from a file, one body per line), optional bearer
-- tokens (a file aligned with the bodies), paced to a fixed rate per thread.
--   wrk -t T -c C -d D -s post.lua URL -- BODIES TOKENS|- RATE_PER_THREAD T [PATHS]
-- PATHS (optional): a file of request paths aligned with the bodies (e.g. a random tenant's
-- /t/<slug>/... per request); without it every request goes to URL's path.
-- RATE_PER_THREAD 0 means no pacing (closed loop, as fast as the connections go).
-- Pacing: each thread keeps a timetable (one slot every 1/rate s); every request waits for the
-- next free slot, so the offered rate is fixed while enough connections are free. Latency is
-- measured by wrk from send to response (the wait for a slot is not part of it).
local ffi = require("ffi")
ffi.cdef[[
typedef long time_t;
typedef struct timespec { time_t tv_sec; long tv_nsec; } timespec;
int clock_gettime(int clk_id, struct timespec *tp);
]]
local ts = ffi.new("timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local bodies, tokens, paths = {}, {}, {}
local i = 0
local interval, next_due = 0, nil
non2xx = 0
statuses = ""

function init(args)
  local nthreads = tonumber(args[4])
  local k = 0
  for line in io.lines(args[1]) do
    if k % nthreads == tid then table.insert(bodies, line) end
    k = k + 1
  end
  if args[2] ~= "-" then
    k = 0
    for line in io.lines(args[2]) do
      if k % nthreads == tid then table.insert(tokens, line) end
      k = k + 1
    end
  end
  if args[5] ~= nil and args[5] ~= "-" then
    k = 0
    for line in io.lines(args[5]) do
      if k % nthreads == tid then table.insert(paths, line) end
      k = k + 1
    end
  end
  local rate = tonumber(args[3])
  if rate > 0 then interval = 1000 / rate end
end

function delay()
  if interval == 0 then return 0 end
  local now = now_ms()
  if next_due == nil then next_due = now end
  local d = next_due - now
  next_due = next_due + interval
  if d < 0 then return 0 end
  return d
end

function request()
  i = i + 1
  local idx = ((i - 1) % #bodies) + 1
  local headers = {["Content-Type"] = "application/json"}
  if #tokens > 0 then headers["Authorization"] = "Bearer " .. tokens[idx] end
  local path = nil
  if #paths > 0 then path = paths[idx] end
  return wrk.format("POST", path, headers, bodies[idx])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if #statuses < 200 then statuses = statuses .. status .. " " end
  end
end

function done(summary, latency, requests)
  local non, seen = 0, ""
  for _, t in ipairs(threads) do
    non = non + (t:get("non2xx") or 0)
    seen = seen .. (t:get("statuses") or "")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"non2xx":%d,"statuses":"%s","p50_us":%d,' ..
    '"p90_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, non, seen, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
