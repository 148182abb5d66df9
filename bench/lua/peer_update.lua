-- The peer's PUT /movie/{random id}: its update takes every required column
dofile(os.getenv("BENCH_LUA_DIR") .. "/status.lua")
math.randomseed(os.time() + 1)
request = function()
    local id = math.random(1, 100000)
    local body = '{"name":"Movie ' .. id .. '","rating":' .. math.random(0, 10) ..
        ',"released":true,"created":"2024-01-01T00:00:00Z"}'
    return wrk.format("PUT", "/movie/" .. id, {["Content-Type"] = "application/json"}, body)
end
