-- Durable writes for scripts/load. Arguments (after `--`): mode (`put` or `batch`),
-- an admin token, and a comma-separated list of cumulative indicator ids.
--
-- Every request writes new values: key number k = (request number × threads + thread),
-- so no two requests of the run carry the same (indicator, period, value), and no
-- write is an unchanged no-op. Each key is the December reading of a past year
-- (1995-2022), so a key's values only grow and the year being watched is untouched.
local mode, token, ids
local n = 0
local years = 28

function init(args)
  mode = args[1]
  token = args[2]
  ids = {}
  for id in string.gmatch(args[3], "[^,]+") do
    table.insert(ids, id)
  end
  nthreads = tonumber(args[4]) or 2
end

local function key(k)
  local id = ids[(k % #ids) + 1]
  local year = 1995 + (math.floor(k / #ids) % years)
  return id, year
end

function request()
  n = n + 1
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  if mode == "put" then
    local k = n * nthreads + tid
    local id, year = key(k)
    local path = string.format("/v1/indicators/%s/readings/%d-12", id, year)
    return wrk.format("PUT", path, headers, string.format('{"value": %d}', k + 1))
  end
  -- A 100-row batch: 100 consecutive keys, all distinct within the batch.
  local base = (n * nthreads + tid) * 100
  local rows = {}
  for j = 0, 99 do
    local k = base + j
    local id, year = key(k)
    rows[#rows + 1] = string.format(
      '{"indicator":"%s","period":"%d-12","value":%d}', id, year, k + 1)
  end
  return wrk.format("POST", "/v1/readings", headers, "[" .. table.concat(rows, ",") .. "]")
end
