-- wrk script: GET the nearby endpoint at a different shopper position each request.
-- Usage: wrk ... -s tests/bench/nearby.lua URL -- PATHS_FILE   (one request path per line)
-- done() prints one JSON line (requests, duration, errors, latency percentiles in microseconds).

local paths = {}
local position = 0

function init(args)
    for line in io.lines(args[1]) do
        paths[#paths + 1] = line
    end
    -- Each thread starts at its own place in the list, so threads do not ask in lockstep.
    position = math.random(#paths) - 1
end

function request()
    position = position % #paths + 1
    return wrk.format("GET", paths[position])
end

function done(summary, latency, requests)
    local errors = summary.errors
    io.write(string.format(
        '{"requests":%d,"duration_us":%d,"status_errors":%d,"connect_errors":%d,"read_errors":%d,' ..
        '"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
        summary.requests, summary.duration, errors.status, errors.connect, errors.read, errors.write,
        errors.timeout, latency:percentile(50), latency:percentile(99), latency.max))
end
