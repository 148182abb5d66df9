-- Counts non-2xx responses and prints them in the summary (wrk only counts >= 400 as errors
-- in its own line, and not per status). BENCH_EXPECT_STATUS=304 counts every other status
-- instead (conditional-get).
local expected = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "")
local threads = {}
function setup(thread)
    table.insert(threads, thread)
end
function init(args)
    non2xx = 0
end
function response(status, headers, body)
    if (expected and status ~= expected) or (not expected and (status < 200 or status > 299)) then
        non2xx = non2xx + 1
    end
end
function done(summary, latency, requests)
    local total = 0
    for _, thread in ipairs(threads) do
        total = total + thread:get("non2xx")
    end
    io.write(string.format("RESULT non2xx=%d requests=%d p50_us=%d p99_us=%d errors=%d\n",
        total, summary.requests, latency:percentile(50), latency:percentile(99),
        summary.errors.connect + summary.errors.read + summary.errors.write +
        summary.errors.timeout))
end
