-- A fixed request (the URL given to wrk); BENCH_TOKEN adds a bearer token.
dofile(os.getenv("BENCH_LUA_DIR") .. "/status.lua")
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end
