-- One wrk scenario against the dev server, chosen by SCENARIO (healthz, list,
-- get, create, verify, verify-garbage, verify-limited, verify-rated, verify-identity, ratelimit,
-- ratelimit-spread), with TOKEN,
-- VERIFIER_TOKEN, KEY_ID, ACCESS_KEY, LIMITED_KEY, RATED_KEY, IDENTITY_KEY, APP_ID and ARX_ID from the environment. It counts the answers
-- by status, which wrk alone does not report.
local scenario = os.getenv("SCENARIO")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/json"
if scenario:sub(1, 6) == "verify" then
  wrk.method = "POST"
  wrk.path = "/v1/verify"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("VERIFIER_TOKEN")
  local key = os.getenv("ACCESS_KEY")
  if scenario == "verify-garbage" then key = "akm_0123456789abcdef_garbage" end
  -- A key with a billion credits: every verify is a charge.
  if scenario == "verify-limited" then key = os.getenv("LIMITED_KEY") end
  -- A key with a rate limit of a million a second: every verify is a charge
  -- of its window, none refused at this machine's rates.
  if scenario == "verify-rated" then key = os.getenv("RATED_KEY") end
  -- A key with credits of its own, of an identity with credits and a rate
  -- limit: every verify charges three counters, both or neither.
  if scenario == "verify-identity" then key = os.getenv("IDENTITY_KEY") end
  wrk.body = string.format('{"key":"%s"}', key)
elseif scenario:sub(1, 9) == "ratelimit" then
  -- The namespace "load" allows a million a second: none refused here.
  wrk.method = "POST"
  wrk.path = "/v1/ratelimit"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("VERIFIER_TOKEN")
  -- One hot identifier: charged from this process's lease.
  wrk.body = '{"namespace":"load","identifier":"203.0.113.7"}'
  if scenario == "ratelimit-spread" then
    -- A new identifier every request: each check makes its window's counter.
    local sent = 0
    function request()
      sent = sent + 1
      local body = string.format('{"namespace":"load","identifier":"%s-%d"}', prefix, sent)
      return wrk.format(nil, nil, nil, body)
    end
  end
elseif scenario == "create" then
  wrk.method = "POST"
  wrk.path = "/v1/api-keys"
  wrk.body = string.format('{"application_id":"%s","arx_id":"%s"}', os.getenv("APP_ID"), os.getenv("ARX_ID"))
elseif scenario == "healthz" then
  -- No token: the ceiling of what the server answers, reading nothing.
  wrk.headers["Authorization"] = nil
  wrk.path = "/healthz"
elseif scenario == "get" then
  wrk.path = "/v1/api-keys/" .. os.getenv("KEY_ID")
else
  wrk.path = "/v1/api-keys"
end

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {}; prefix = tostring(math.random(1, 1e9)) end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do io.write(string.format("status %d: %d\n", status, count)) end
  io.write(string.format("RESULT %s %.0f req/s, p50 %.2f ms, p99 %.2f ms, errors %d\n", scenario,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
