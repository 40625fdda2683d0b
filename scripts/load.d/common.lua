-- Shared by every scripts/load run: prints one machine-readable line at the end, which
-- scripts/load parses.
--
-- There is no `response` hook: with one, wrk hands every body to Lua, and that copy
-- costs the client more than a small answer costs the server, so the ratios would
-- measure wrk. Statuses are checked instead by wrk's own count of answers of 400 and
-- above (`errors.status`, which must be 0), and scripts/load asks each URL once with
-- curl before its run for the exact status expected.
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'ZHIBIAO_RESULT {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f,' ..
    '"status_errors":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status))
end
