-- POST /api/referrals on the embedded default (durable: SQLite row + queue message per request), without an
-- Idempotency-Key, so every request is a new referral. The key comes from BENCH_ORG_KEY.
local body = assert(io.open(os.getenv("BENCH_DIR") .. "/referral.json", "r")):read("*a")
wrk.method = "POST"
wrk.path = "/api/referrals"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_ORG_KEY"), "BENCH_ORG_KEY is not set")

dofile(os.getenv("BENCH_DIR") .. "/report.lua")
