-- wrk script of the soak (./load.mjs): each thread has one connection, so a response is the answer to the
-- request sent just before it on that thread, and is checked against that request's expected answers.
--
--   wrk -t N -c N -d SECONDS+1 -s check.lua URL -- CASES.lua SEED SECONDS
--
-- CASES.lua returns a list of cases: { req = raw HTTP/1.1 request text, weight = n, alts = { expected... } };
-- an expected answer is { status = 200, pods = { [ip] = true } (200: the pod's ip in the body must be one of
-- them), decision = "..." or false (the x-dynamic-subset response header, false: absent), body = "..." (non-200:
-- the body, trailing whitespace ignored; nil: any) }. A response is good when it matches one alternative in full
-- (the configurations A and B of the reconfiguration phase are two alternatives, never mixed).
-- After SECONDS each thread sends only requests with 101 headers, which Envoy refuses (431) before any filter runs:
-- the requests wrk abandons when it stops are those, so the filter has seen exactly the answered cases.
-- done() prints one line per figure, "SOAK <what> ...", for load.mjs to read.

local cases, order, pos, pending, deadline
local DRAIN = 0 -- `pending` of a request sent after the deadline
-- wrk calls request() once more on the first thread, before any connection, to see whether it pipelines.
local verify_call
local drain_request
-- Globals: done() reads them from each thread (thread:get).
sent, matched, bad, kinds, samples = {}, {}, {}, {}, {}
lost, unsolicited, drained = 0, 0, 0
local MAX_SAMPLES = 5
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  cases = dofile(args[1])
  order = {}
  for i, c in ipairs(cases) do
    for _ = 1, c.weight do
      order[#order + 1] = i
    end
  end
  -- Each thread walks the weighted list in its own shuffled order.
  math.randomseed(tonumber(args[2]) + id)
  for i = #order, 2, -1 do
    local j = math.random(i)
    order[i], order[j] = order[j], order[i]
  end
  pos = 0
  verify_call = id == 1
  deadline = os.time() + tonumber(args[3])
  local headers = { "GET / HTTP/1.1", "Host: soak-drain" }
  for i = 1, 100 do
    headers[#headers + 1] = "x-drain-" .. i .. ": 1"
  end
  drain_request = table.concat(headers, "\r\n") .. "\r\n\r\n"
end

function request()
  if verify_call then
    verify_call = false
    return cases[1].req
  end
  -- A request still pending here never got its response (the connection failed under it).
  if pending and pending ~= DRAIN then
    lost = lost + 1
  end
  if os.time() >= deadline then
    pending = DRAIN
    return drain_request
  end
  pos = pos % #order + 1
  pending = order[pos]
  sent[pending] = (sent[pending] or 0) + 1
  return cases[pending].req
end

local function matches(alt, status, decision, ip, body)
  if status ~= alt.status or (decision or false) ~= alt.decision then
    return false
  end
  if alt.pods then
    return ip ~= nil and alt.pods[ip] == true
  end
  return alt.body == nil or alt.body == body
end

function response(status, headers, body)
  local i = pending
  pending = nil
  if not i then
    unsolicited = unsolicited + 1
    return
  end
  if i == DRAIN then
    drained = drained + 1
    return
  end
  body = body:gsub("%s+$", "")
  local decision = headers["x-dynamic-subset"]
  local ip = status == 200 and body:match("ip: ([%d%.]+)$") or nil
  local kind = i .. " " .. status .. " " .. (ip or (body:sub(1, 60):gsub("%s", " ")))
  kinds[kind] = (kinds[kind] or 0) + 1
  local good = false
  for a, alt in ipairs(cases[i].alts) do
    if matches(alt, status, decision, ip, body) then
      local key = i .. " " .. a
      matched[key] = (matched[key] or 0) + 1
      good = true
      break
    end
  end
  if not good then
    bad[i] = (bad[i] or 0) + 1
    if #samples < MAX_SAMPLES then
      samples[#samples + 1] = string.format("%d %d %q %q", i, status, decision or "", body:sub(1, 200))
    end
  end
end

local function add(into, from)
  for k, v in pairs(from) do
    into[k] = (into[k] or 0) + v
  end
end

function done(summary)
  local total = { sent = {}, matched = {}, bad = {}, kinds = {} }
  local lostAll, unsolicitedAll, drainedAll = 0, 0, 0
  for _, t in ipairs(threads) do
    add(total.sent, t:get("sent"))
    add(total.matched, t:get("matched"))
    add(total.bad, t:get("bad"))
    add(total.kinds, t:get("kinds"))
    lostAll = lostAll + t:get("lost")
    unsolicitedAll = unsolicitedAll + t:get("unsolicited")
    drainedAll = drainedAll + t:get("drained")
    for _, s in ipairs(t:get("samples")) do
      io.write("SOAK sample ", s, "\n")
    end
  end
  for k, v in pairs(total.sent) do
    io.write("SOAK sent ", k, " ", v, "\n")
  end
  for k, v in pairs(total.matched) do
    io.write("SOAK matched ", k, " ", v, "\n")
  end
  for k, v in pairs(total.bad) do
    io.write("SOAK bad ", k, " ", v, "\n")
  end
  for k, v in pairs(total.kinds) do
    io.write("SOAK kind ", v, " ", k, "\n")
  end
  local e = summary.errors
  io.write(
    string.format(
      "SOAK totals %d %d %d %d %d %d %d %d %d %d\n",
      summary.requests,
      summary.duration,
      lostAll,
      unsolicitedAll,
      drainedAll,
      e.connect,
      e.read,
      e.write,
      e.timeout,
      e.status
    )
  )
end
