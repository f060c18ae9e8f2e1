-- wrk script of scripts/load.sh with KEYS > 1: each request carries the next of
-- KEYS API keys (key_1, key_2, ..., then key_1 again). Every request is
-- formatted once, in init, so that a request costs wrk a table lookup and
-- not a string build: the load generator shares the machine with the
-- servers, and its work per request is the same for both.
local keys = tonumber(os.getenv("KEYS") or "") or 50000
local requests = {}
local next_key = 0

function init(args)
   for k = 1, keys do
      requests[k] = wrk.format(nil, nil, { ["Authorization"] = "Bearer key_" .. k })
   end
end

function request()
   next_key = next_key % keys + 1
   return requests[next_key]
end
