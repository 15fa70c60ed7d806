-- wrk script of the serving benchmark: GET <prefix><subject id><query> with a bearer token, the
-- subject ids taken in turn from a file (one a line), each wrk thread starting at another place.
-- Arguments after wrk's `--`: prefix, query, token, ids file. Prints one JSON line when done.

local thread_count = 0

function setup(thread)
  thread:set("thread_number", thread_count)
  thread_count = thread_count + 1
end

local ids = {}
local next_id = 1
local prefix, query

function init(args)
  prefix, query = args[1], args[2]
  wrk.headers["Authorization"] = "Bearer " .. args[3]
  for line in io.lines(args[4]) do
    ids[#ids + 1] = line
  end
  next_id = (thread_number * 7919) % #ids + 1
end

function request()
  local id = ids[next_id]
  next_id = next_id % #ids + 1
  return wrk.format("GET", prefix .. id .. query)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
end
