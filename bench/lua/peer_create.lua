-- The peer's POST /movie/ with one row (it requires "created" although the column has a
-- default)
dofile(os.getenv("BENCH_LUA_DIR") .. "/status.lua")
local counter = 0
request = function()
    counter = counter + 1
    local body = '{"name":"Bench ' .. counter .. '","rating":' .. (counter % 11) ..
        ',"director":' .. (1 + counter % 1000) ..
        ',"released":true,"created":"2024-01-01T00:00:00Z"}'
    return wrk.format("POST", "/movie/", {["Content-Type"] = "application/json"}, body)
end
