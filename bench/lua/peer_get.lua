-- The peer's GET /movie/{random id}
dofile(os.getenv("BENCH_LUA_DIR") .. "/status.lua")
math.randomseed(os.time())
request = function()
    return wrk.format("GET", "/movie/" .. math.random(1, 100000))
end
