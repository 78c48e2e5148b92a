// What a real Envoy did with each request, read from the Envoy itself: an access-log line per request (JSON on
// stdout) with the route it used, the upstream cluster and host, the response flags and details, the upstream
// attempts and the filter's decision (%FILTER_STATE(wasm.dynamic_subset:PLAIN)%), tied to the request by an
// x-test-id header; and the filter's counters from /stats.
//
//   ACCESS_LOG                            the HttpConnectionManager access_log entry to put on a listener
//   observedRequests(envoy, listener, host) -> {
//     request(headers, { path, method, waitForLog }) -> { status, headers, body, id, log }   headers: object or
//                                           [name, value] pairs (repeats and case kept); `host` is sent unless
//                                           headers have one
//     accessLog(id)                       a request's access-log entry (waits for Envoy to write it)
//     counters() -> Map name -> value     the filter's counters (wasmcustom.*), names without that prefix
//   }

import http from "node:http";

export const TEST_ID = "x-test-id";
let lastId = 0; // request ids are unique in this process, across Envoys
const WASM_STATS = "wasmcustom.";

export const ACCESS_LOG = {
  name: "envoy.access_loggers.stdout",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
    log_format: {
      json_format: {
        test_id: `%REQ(${TEST_ID})%`,
        route: "%ROUTE_NAME%",
        cluster: "%UPSTREAM_CLUSTER%",
        host: "%UPSTREAM_HOST%",
        code: "%RESPONSE_CODE%",
        flags: "%RESPONSE_FLAGS%",
        details: "%RESPONSE_CODE_DETAILS%",
        decision: "%FILTER_STATE(wasm.dynamic_subset:PLAIN)%",
        attempts: "%UPSTREAM_REQUEST_ATTEMPT_COUNT%",
      },
    },
  },
};

/** Envoy flags for the access log to be written within milliseconds of a response (it is buffered). */
export const FLUSH_ARGS = ["--file-flush-interval-msec", "5"];

/** One HTTP/1.1 request with headers given as pairs (repeats and any case kept). */
function rawRequest(port, pairs, { method = "GET", path: urlPath = "/", timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path: urlPath, agent: false, headers: pairs.flat() },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: body.trimEnd() }));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`request to port ${port} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Reads Envoy's output as it grows: access-log entries by test id (other lines are Envoy's own log). */
function accessLogReader(log) {
  const entries = new Map();
  let consumed = 0;
  let partial = "";
  return (id) => {
    if (consumed < log.length) {
      const lines = (partial + log.slice(consumed).join("")).split("\n");
      consumed = log.length;
      partial = lines.pop();
      for (const line of lines) {
        if (!line.startsWith('{"')) continue;
        const entry = JSON.parse(line);
        if (entry.test_id) entries.set(entry.test_id, entry);
      }
    }
    return entries.get(id);
  };
}

/** See the top of this file. `envoy` is what envoy/local-envoy.mjs startEnvoy returns. */
export function observedRequests(envoy, listener, host) {
  const logEntry = accessLogReader(envoy.log);
  /** The access-log entry of a request, once Envoy has written it. */
  async function accessLog(id) {
    const deadline = Date.now() + 5000;
    let entry;
    while (!(entry = logEntry(id)) && Date.now() < deadline) await sleep(2);
    if (!entry) throw new Error(`no access-log line for request ${id}`);
    return entry;
  }
  return {
    accessLog,
    /** waitForLog false: leave `log` out (read it later with accessLog(id), e.g. after a burst of requests). */
    async request(headers = {}, { waitForLog = true, ...options } = {}) {
      const id = `${process.pid}-${++lastId}`;
      const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
      const hasHost = pairs.some(([k]) => k.toLowerCase() === "host");
      const all = [...(hasHost ? [] : [["host", host]]), ...pairs, [TEST_ID, id]];
      const response = await rawRequest(envoy.ports[listener], all, options);
      return { ...response, id, ...(waitForLog ? { log: await accessLog(id) } : {}) };
    },
    async counters() {
      const { body } = await envoy.admin(`/stats?filter=${encodeURIComponent(`^${WASM_STATS}`)}`);
      return new Map(
        body
          .split("\n")
          .filter((l) => l.startsWith(WASM_STATS))
          .map((l) => {
            const at = l.lastIndexOf(": ");
            return [l.slice(WASM_STATS.length, at), Number(l.slice(at + 2))];
          }),
      );
    },
  };
}
