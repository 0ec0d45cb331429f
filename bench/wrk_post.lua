-- wrk script for bench/server_throughput: every request is the same JSON-RPC POST.
--
-- Environment:
--   BODY      request body (required), e.g. a tools/call of the `add` tool. An occurrence of
--             the token @ID@ (at most one) is replaced by a request id unique within the run,
--             always 10 digits (1000000000, 1000000001, ... for the first wrk thread), so
--             every request, and every response, has the same size; a body without @ID@ is
--             sent as is.
--   SESSION   Mcp-Session-Id header value (optional; omitted when empty)
--   PROTOCOL  MCP-Protocol-Version header value (optional; omitted when empty)
--   AUTHORIZATION  Authorization header value, e.g. "Bearer eyJ..." (optional; omitted when
--             empty; bench/server_throughput sets it from BENCH_AUTHORIZATION for our server)
--
-- Unique ids matter: all connections share one MCP session, and a server may (legitimately)
-- route or reject a response by request id, so concurrent requests must not reuse one.
--
-- At the end it prints one parseable line (latencies in milliseconds, over all requests):
--   LAT p50_ms=0.123 p99_ms=0.456 max_ms=7.890 requests=12345 non2xx=0 errors=0 timeouts=0
-- where non2xx counts responses with a status >= 300, errors sums wrk's connect, read and
-- write socket errors, and timeouts counts requests unanswered after wrk's --timeout (2 s).

local body = os.getenv("BODY")
if body == nil or body == "" then
  error("wrk_post.lua: BODY is not set")
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"

local session = os.getenv("SESSION")
if session ~= nil and session ~= "" then
  wrk.headers["Mcp-Session-Id"] = session
end

local protocol = os.getenv("PROTOCOL")
if protocol ~= nil and protocol ~= "" then
  wrk.headers["MCP-Protocol-Version"] = protocol
end

-- EXTRA_HEADERS: more headers, "Name: value" pairs separated by "|" (the 2026-07-28 row sends
-- MCP-Protocol-Version, Mcp-Method and Mcp-Name this way).
local extra = os.getenv("EXTRA_HEADERS")
if extra ~= nil and extra ~= "" then
  for pair in extra:gmatch("[^|]+") do
    local name, value = pair:match("^%s*([^:]+):%s*(.-)%s*$")
    if name == nil then
      error("wrk_post.lua: EXTRA_HEADERS entry '" .. pair .. "' is not 'Name: value'")
    end
    wrk.headers[name] = value
  end
end

local authorization = os.getenv("AUTHORIZATION")
if authorization ~= nil and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end

-- Request ids: setup() runs in the main Lua state once per wrk thread and hands each its
-- index; a thread's ids are then "<tid+1><9-digit counter>", i.e. 10 digits for up to 9
-- threads and 10^9 requests per thread: unique and all of one width.
local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local prefix, suffix
do
  local s, e = body:find("@ID@", 1, true)
  if s then
    prefix, suffix = body:sub(1, s - 1), body:sub(e + 1)
    if suffix:find("@ID@", 1, true) then
      error("wrk_post.lua: BODY may hold @ID@ once only")
    end
  end
end

local n = 0
function request()
  if prefix == nil then
    return wrk.format()
  end
  local id = string.format("%d%09d", (tid or 0) + 1, n)
  n = n + 1
  return wrk.format(nil, nil, nil, prefix .. id .. suffix)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status or 0
  local socket_errors = (summary.errors.connect or 0) + (summary.errors.read or 0)
    + (summary.errors.write or 0)
  local timeouts = summary.errors.timeout or 0
  -- wrk records latency in microseconds
  io.write(string.format(
    "LAT p50_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d non2xx=%d errors=%d timeouts=%d\n",
    latency:percentile(50) / 1000.0, latency:percentile(99) / 1000.0, latency.max / 1000.0,
    summary.requests, non2xx, socket_errors, timeouts))
end
