-- POST /movie/ with 100 rows per request (bench/bulk-create); BENCH_UPSERT=1 posts 100
-- directors per request to /director/?__on_conflict=name instead, cycling over 1,000 names so
-- that after the first pass every row updates an existing one.
dofile(os.getenv("BENCH_LUA_DIR") .. "/status.lua")
local upsert = os.getenv("BENCH_UPSERT") == "1"
local rows_per_request = 100
local bodies = {}
local path = upsert and "/director/?__on_conflict=name" or "/movie/"
for b = 1, 10 do
    local rows = {}
    for i = 1, rows_per_request do
        local n = (b - 1) * rows_per_request + i
        if upsert then
            rows[i] = '{"name":"Bench director ' .. n .. '"}'
        else
            rows[i] = '{"name":"Bench ' .. n .. '","rating":' .. (n % 11) .. ',"director":' ..
                (1 + n % 1000) .. ',"released":true,"tags":["bench"]}'
        end
    end
    bodies[b] = "[" .. table.concat(rows, ",") .. "]"
end
local counter = 0
request = function()
    counter = counter + 1
    return wrk.format("POST", path, {["Content-Type"] = "application/json"},
        bodies[1 + counter % #bodies])
end
