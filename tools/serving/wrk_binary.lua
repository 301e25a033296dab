-- wrk script: POST a binary-tensor body (from make_body.py) to a KServe v2 infer URL and report
-- latency percentiles and non-200 answers.
--   BODY=body.bin HEADER_LENGTH=123 wrk -t2 -c8 -d10s -s wrk_binary.lua http://127.0.0.1:8000/v2/models/t0/infer
local file = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*all")
file:close()
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = os.getenv("HEADER_LENGTH")

local statuses = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do
      statuses[status] = (statuses[status] or 0) + n
    end
  end
  local answered = ""
  for status, n in pairs(statuses) do answered = answered .. string.format(" %d:%d", status, n) end
  io.write(string.format("RESULT requests_per_s=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f errors=%d statuses=%s\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, answered))
end
