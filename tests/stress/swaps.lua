-- swaps.lua: wrk script of the load-during-swaps run.  Every feed in
-- turn, plain and gzip; each thread counts statuses and the distinct
-- (ETag, body length) pairs of its 200 answers.  done() writes them, with
-- the totals and latency percentiles, to the file named by $WRK_OUT:
--   status CODE COUNT / etag ETAG LENGTH COUNT / requests N /
--   errors CONNECT READ WRITE STATUS TIMEOUT / latency P50 P99 MAX (us)

local paths = { "/feeds/ip", "/feeds/domains", "/feeds/urls" }
local threads = {}
local n = 0

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	statuses = {}
	seen = {}
end

function request()
	n = n + 1
	local path = paths[n % #paths + 1]
	-- Every other round of the three feeds asks for gzip.
	if math.floor(n / #paths) % 2 == 1 then
		return wrk.format("GET", path, { ["Accept-Encoding"] = "gzip" })
	end
	return wrk.format("GET", path)
end

function response(status, headers, body)
	statuses[status] = (statuses[status] or 0) + 1
	if status == 200 then
		local key = (headers["ETag"] or "-") .. " " .. #body
		seen[key] = (seen[key] or 0) + 1
	end
end

function done(summary, latency, requests)
	local out = assert(io.open(os.getenv("WRK_OUT"), "w"))
	local st, et = {}, {}
	for _, t in ipairs(threads) do
		for k, v in pairs(t:get("statuses")) do
			st[k] = (st[k] or 0) + v
		end
		for k, v in pairs(t:get("seen")) do
			et[k] = (et[k] or 0) + v
		end
	end
	for k, v in pairs(st) do
		out:write(string.format("status %d %d\n", k, v))
	end
	for k, v in pairs(et) do
		out:write(string.format("etag %s %d\n", k, v))
	end
	local e = summary.errors
	out:write(string.format("requests %d\n", summary.requests))
	out:write(string.format("duration %d\n", summary.duration))
	out:write(string.format("errors %d %d %d %d %d\n", e.connect, e.read,
	    e.write, e.status, e.timeout))
	out:write(string.format("latency %d %d %d\n",
	    latency:percentile(50.0), latency:percentile(99.0), latency.max))
	out:close()
end
