-- PATCH /movie/{random id}/ with a new rating
dofile(os.getenv("BENCH_LUA_DIR") .. "/status.lua")
math.randomseed(os.time() + 1)
request = function()
    local body = '{"rating":' .. math.random(0, 10) .. '}'
    return wrk.format("PATCH", "/movie/" .. math.random(1, 100000) .. "/",
        {["Content-Type"] = "application/json"}, body)
end
