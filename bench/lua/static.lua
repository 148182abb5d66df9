-- A fixed request (the URL given to wrk); BENCH_TOKEN adds a bearer token, BENCH_ETAG an
-- If-None-Match header (conditional-get).
dofile(os.getenv("BENCH_LUA_DIR") .. "/status.lua")
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end
local etag = os.getenv("BENCH_ETAG")
if etag and etag ~= "" then
    wrk.headers["If-None-Match"] = etag
end
