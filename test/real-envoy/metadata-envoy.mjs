// The local example (envoy/envoy.yaml) as the metadata-mode suites run it: the shipped bootstrap plus what a test
// needs to see inside Envoy, nothing taken away:
//   - stats_config from envoy/stats-tags.yaml (the documented snippet, not the copy rendered into envoy.yaml);
//   - a JSON access log per request (file in the suite's temp dir) with the filter state, keyed by x-test-id;
//   - failure_policy FAIL_RELOAD, so that a failed VM shows in Envoy's wasm stats (wasm.dynamic_subset.vm_reload*):
//     under the default FAIL_CLOSED no wasm stat moves when the VM fails, only the error log line does;
//   - on every listener a route /unconfigured/ to a cluster the plugin configuration does not name;
//   - on `step2` (and `filter-only`): Envoy's header limits raised for the hostile requests (64 KiB values, 100
//     repeats); the other listeners keep Envoy's defaults;
//   - a listener `filter-only` (the step2 filter without header_to_metadata, on a cluster without subsets), so
//     that the backends show exactly the request headers the filter leaves behind.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { localExampleBootstrap, startLocalExample } from "../../envoy/local-envoy.mjs";

const STATS_TAGS = new URL("../../envoy/stats-tags.yaml", import.meta.url).pathname;
export const UNCONFIGURED_PREFIX = "/unconfigured";
/** Raised limits of `step2` and `filter-only` (Envoy's defaults: 60 KiB of headers, 100 headers). */
export const HEADER_LIMITS = { max_request_headers_kb: 256, max_headers_count: 300 };

const hcmOf = (listener) => listener.filter_chains[0].filters[0].typed_config;
const wasmOf = (listener) => hcmOf(listener).http_filters.find((f) => f.name === "envoy.filters.http.wasm");

/** Access log fields, one JSON object per request. */
const ACCESS_LOG_FORMAT = {
  id: "%REQ(X-TEST-ID)%",
  status: "%RESPONSE_CODE%",
  details: "%RESPONSE_CODE_DETAILS%",
  route: "%ROUTE_NAME%",
  upstream: "%UPSTREAM_HOST%",
  decision: "%FILTER_STATE(wasm.dynamic_subset:PLAIN)%",
};

function withoutSubsets(cluster, name) {
  const copy = structuredClone(cluster);
  copy.name = copy.load_assignment.cluster_name = name;
  delete copy.lb_subset_config;
  return copy;
}

/** The suite's bootstrap (see the top of this file); logFile: where the JSON access log goes. */
export function metadataSuiteBootstrap(logFile) {
  const b = localExampleBootstrap();
  b.stats_config = parse(readFileSync(STATS_TAGS, "utf8"));
  const { listeners, clusters } = b.static_resources;
  const step2 = listeners.find((l) => l.name === "step2");
  const step2Cluster = hcmOf(step2).route_config.virtual_hosts[0].routes[0].route.cluster;
  const unconfigured = withoutSubsets(
    clusters.find((c) => c.name === step2Cluster),
    "unconfigured|helloworld",
  );
  const filterOnlyCluster = withoutSubsets(unconfigured, "filter-only|helloworld");
  clusters.push(unconfigured, filterOnlyCluster);

  const filterOnly = structuredClone(step2);
  filterOnly.name = hcmOf(filterOnly).stat_prefix = "filter-only";
  const hcm = hcmOf(filterOnly);
  hcm.http_filters = hcm.http_filters.filter((f) => f.name !== "envoy.filters.http.header_to_metadata");
  hcm.route_config.name = "filter-only";
  hcm.route_config.virtual_hosts[0].routes[0].route.cluster = filterOnlyCluster.name;
  const configuration = wasmOf(filterOnly).typed_config.config.configuration;
  configuration.value = configuration.value.replace(
    JSON.stringify(step2Cluster),
    JSON.stringify(filterOnlyCluster.name),
  );
  listeners.push(filterOnly);

  for (const listener of [step2, filterOnly]) {
    const h = hcmOf(listener);
    h.max_request_headers_kb = HEADER_LIMITS.max_request_headers_kb;
    h.common_http_protocol_options = { max_headers_count: HEADER_LIMITS.max_headers_count };
  }
  for (const listener of listeners) {
    hcmOf(listener).route_config.virtual_hosts[0].routes.unshift({
      name: "unconfigured",
      match: { prefix: `${UNCONFIGURED_PREFIX}/` },
      route: { cluster: unconfigured.name, prefix_rewrite: "/" },
    });
    wasmOf(listener).typed_config.config.failure_policy = "FAIL_RELOAD";
    hcmOf(listener).access_log.push({
      name: "envoy.access_loggers.file",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
        path: logFile,
        log_format: { json_format: { listener: listener.name, ...ACCESS_LOG_FORMAT } },
      },
    });
  }
  return b;
}

/** The JSON access log: entry(id) waits until Envoy has written the line of request `id` (x-test-id). */
class AccessLog {
  constructor(file) {
    this.file = file;
  }

  entries() {
    let text = "";
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      if (err.code !== "ENOENT") throw err;
    }
    return text
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
  }

  async entry(id, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.entries().find((e) => e.id === String(id));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no access log line for request ${id} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * The local example with the suite's bootstrap: { envoy (startLocalExample's), accessLog, nextId(), close() }.
 * Envoy flushes access log files every 10 s by default; 20 ms here so that a test can read its lines at once.
 */
export async function startMetadataSuite(bin) {
  const dir = mkdtempSync(path.join(tmpdir(), "dynamic-subset-metadata-"));
  const logFile = path.join(dir, "access.log");
  let envoy;
  try {
    envoy = await startLocalExample(bin, {
      bootstrap: metadataSuiteBootstrap(logFile),
      args: ["--file-flush-interval-msec", "20"],
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let lastId = 0;
  return {
    envoy,
    accessLog: new AccessLog(logFile),
    nextId: () => String(++lastId),
    close: async () => {
      await envoy.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Counter and gauge values of Envoy's /stats/prometheus text: Map of `name{labels}` (labels as printed) -> number. */
export function parsePrometheus(text) {
  const values = new Map();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) values.set(`${m[1]}${m[2] && m[2] !== "{}" ? m[2] : ""}`, Number(m[3]));
  }
  return values;
}

/** /stats/prometheus of `envoy`, parsed. */
export async function prometheusValues(envoy) {
  const r = await envoy.admin("/stats/prometheus");
  if (r.status !== 200) throw new Error(`/stats/prometheus answered ${r.status}`);
  return parsePrometheus(r.body);
}

/**
 * What shows that a Wasm VM failed, as Envoy reports it: the error lines of Envoy's log
 * ("Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable") and, under FAIL_RELOAD, the
 * wasm.<plugin>.vm_reload* counters. -> { failedCalls: [log lines], reloads: {stat: value} }
 */
export async function wasmFailures(envoy) {
  const failedCalls = envoy.log
    .join("")
    .split("\n")
    .filter((l) => /\] Function: \S+ failed: /.test(l));
  const stats = (await envoy.admin("/stats?filter=vm_reload")).body;
  const reloads = {};
  for (const m of stats.matchAll(/^(wasm\.\S+\.vm_reload\w*): (\d+)$/gm)) reloads[m[1]] = Number(m[2]);
  return { failedCalls, reloads };
}
