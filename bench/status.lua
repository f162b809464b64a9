-- POST /api/status with a known status token, picked at random from the seeder's sample (BENCH_TOKENS).
-- For the baseline, BENCH_PATH points at its echo endpoint: the same body, the bare platform.
local path = os.getenv("BENCH_PATH") or ""
if path == "" then path = "/api/status" end
local tokens = {}

function init(args)
  local file = assert(io.open(assert(os.getenv("BENCH_TOKENS"), "BENCH_TOKENS is not set"), "r"))
  for line in file:lines() do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  file:close()
  assert(#tokens > 0, "no tokens in BENCH_TOKENS")
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
end

function request()
  local body = '{"token":"' .. tokens[math.random(#tokens)] .. '"}'
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, body)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
