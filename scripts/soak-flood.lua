-- wrk script of scripts/soak.py: a flood of invented keys. Every request
-- carries a key never sent before, `Authorization: Bearer flood_<t>_<n>`
-- (t the wrk thread, n its count of requests), so each is a new (key,
-- class) for the server's table, and sends one GET.
--
-- Each answer is classified as it arrives:
-- - 200 must come from a fresh state: `X-RateLimit-Remaining: 332` (a
--   new key under the reference policy's reads, 333 per 10 s); any other
--   value means the key met another key's counts.
-- - 429 must be the layer's refusal: code `rate_limited` and a
--   `Retry-After` (a key sent once is never denied by a window, so this is
--   a full table).
-- With a wait given, each connection keeps to one request per wait.
-- At the end, `done` prints one `soak-flood NAME VALUE` line per figure
-- for scripts/soak.py to read.
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_id", #threads)
end

function init(args)
   -- args[1]: milliseconds each connection waits between its requests
   -- (0: none), so that the flood keeps to a rate.
   wait_ms = tonumber(args[1] or "0") or 0
   prefix = "Bearer flood_" .. thread_id .. "_"
   sent = 0
   statuses = {}
   stale_200 = 0
   bad_429 = 0
end

function delay()
   return wait_ms
end

function request()
   sent = sent + 1
   return wrk.format(nil, nil, { ["Authorization"] = prefix .. sent })
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status == 200 then
      if headers["x-ratelimit-remaining"] ~= "332" then
         stale_200 = stale_200 + 1
      end
   elseif status == 429 then
      if headers["retry-after"] == nil
         or not string.find(body, '"code":"rate_limited"', 1, true) then
         bad_429 = bad_429 + 1
      end
   end
end

function done(summary, latency, requests)
   local total = { sent = 0, stale_200 = 0, bad_429 = 0 }
   local by_status = {}
   for _, thread in ipairs(threads) do
      for _, name in ipairs({ "sent", "stale_200", "bad_429" }) do
         total[name] = total[name] + thread:get(name)
      end
      for status, n in pairs(thread:get("statuses")) do
         by_status[status] = (by_status[status] or 0) + n
      end
   end
   local e = summary.errors
   io.write(string.format("soak-flood requests %d\n", summary.requests))
   io.write(string.format("soak-flood keys_sent %d\n", total.sent))
   io.write(string.format("soak-flood duration_us %d\n", summary.duration))
   for _, name in ipairs({ "connect", "read", "write", "timeout" }) do
      io.write(string.format("soak-flood error_%s %d\n", name, e[name]))
   end
   for status, n in pairs(by_status) do
      io.write(string.format("soak-flood status_%d %d\n", status, n))
   end
   io.write(string.format("soak-flood stale_200 %d\n", total.stale_200))
   io.write(string.format("soak-flood bad_429 %d\n", total.bad_429))
   io.write(string.format("soak-flood latency_p99_us %d\n", latency:percentile(99)))
end
