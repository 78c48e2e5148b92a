// A DestinationRule's trafficPolicy in the envoy target (src/render/traffic-policy.ts): every field Envoy supports
// becomes the cluster field istiod would write for it (pilot/pkg/networking/core/cluster_traffic_policy.go), the
// others are rejected naming file, document and path; the result passes Envoy's protos here and real Envoy's
// `--mode validate` (below, on every pinned version).

import assert from "node:assert/strict";
import { test } from "node:test";
import { stringify } from "yaml";
import { parseAsm } from "../../dist/asm/index.js";
import { InputError } from "../../dist/input/errors.js";
import { renderEnvoy } from "../../dist/render/envoy.js";
import { clusterTrafficPolicy, durationSeconds } from "../../dist/render/traffic-policy.js";
import { runEnvoyToExit } from "../../envoy/local-envoy.mjs";
import { forEachEnvoy } from "../real-envoy/envoys.mjs";
import { validateEnvoy } from "./proto-validate.mjs";

const HOST = "reviews.default.svc.cluster.local";
const endpoints = [{ host: HOST, endpoints: [{ address: "127.0.0.5", port: 8080, labels: { stage: "dev" } }] }];

function input(trafficPolicy, port = 9080) {
  const dr = {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: "reviews", namespace: "default" },
    spec: {
      host: "reviews",
      trafficPolicy: { ...trafficPolicy, loadBalancer: { ...trafficPolicy.loadBalancer, dynamicSubset: DS } },
    },
  };
  const vs = {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "reviews", namespace: "default" },
    spec: { hosts: ["reviews"], http: [{ route: [{ destination: { host: "reviews", port: { number: port } } }] }] },
  };
  return parseAsm([{ file: "dr.yaml", text: `${stringify(dr)}---\n${stringify(vs)}` }]);
}
const DS = { subsetSelectors: [{ keys: ["stage"] }] };

const render = (trafficPolicy, port) =>
  renderEnvoy([{ input: input(trafficPolicy, port) }], { output: "bootstrap", endpoints }).documents[0].value;
const clusterOf = (trafficPolicy, port) => render(trafficPolicy, port).static_resources.clusters[0];
/** The problems a trafficPolicy is rejected with. */
function problemsOf(trafficPolicy, port) {
  try {
    render(trafficPolicy, port);
  } catch (err) {
    assert.ok(err instanceof InputError, err.stack);
    return err.problems;
  }
  assert.fail("rendered without a problem");
}

const HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const ISTIO_THRESHOLDS = {
  max_connections: 4294967295,
  max_pending_requests: 4294967295,
  max_requests: 4294967295,
  max_retries: 4294967295,
  track_remaining: true,
};

/** Every field the envoy target translates, as a user would write them. */
const EVERYTHING = {
  loadBalancer: { simple: "ROUND_ROBIN", warmup: { duration: "30s", minimumPercent: 20, aggression: 2 } },
  connectionPool: {
    tcp: {
      maxConnections: 100,
      connectTimeout: "250ms",
      tcpKeepalive: { probes: 3, time: "7200s", interval: "75s" },
      maxConnectionDuration: "1h",
      idleTimeout: "5m",
    },
    http: {
      http1MaxPendingRequests: 10,
      http2MaxRequests: 200,
      maxRequestsPerConnection: 50,
      maxRetries: 4,
      idleTimeout: "90s",
      h2UpgradePolicy: "UPGRADE",
      maxConcurrentStreams: 64,
      http2KeepAlive: { interval: "10s", timeout: "3s" },
    },
  },
  outlierDetection: {
    consecutive5xxErrors: 3,
    consecutiveGatewayErrors: 2,
    interval: "1s",
    baseEjectionTime: "30s",
    maxEjectionPercent: 50,
    minHealthPercent: 25,
    splitExternalLocalOriginErrors: true,
    consecutiveLocalOriginFailures: 4,
  },
  tls: {
    mode: "MUTUAL",
    clientCertificate: "/etc/certs/client.pem",
    privateKey: "/etc/certs/key.pem",
    caCertificates: "/etc/certs/ca.pem",
    subjectAltNames: ["reviews.example.com"],
    sni: "reviews.example.com",
  },
  proxyProtocol: { version: "V2" },
  retryBudget: { percent: { value: 25 }, minRetryConcurrency: 5 },
};

test("every supported trafficPolicy field becomes the cluster field istiod writes for it", () => {
  const c = clusterOf(EVERYTHING);
  assert.equal(c.lb_policy, "ROUND_ROBIN");
  assert.deepEqual(c.round_robin_lb_config, {
    slow_start_config: {
      slow_start_window: "30s",
      aggression: { default_value: 2, runtime_key: "(" },
      min_weight_percent: { value: 20 },
    },
  });
  assert.equal(c.connect_timeout, "0.25s");
  assert.deepEqual(c.circuit_breakers, {
    thresholds: [
      {
        max_connections: 100,
        max_pending_requests: 10,
        max_requests: 200,
        max_retries: 4,
        track_remaining: true,
        retry_budget: { budget_percent: { value: 25 }, min_retry_concurrency: 5 },
      },
    ],
  });
  assert.deepEqual(c.upstream_connection_options, {
    tcp_keepalive: { keepalive_probes: 3, keepalive_time: 7200, keepalive_interval: 75 },
  });
  assert.deepEqual(c.typed_extension_protocol_options, {
    [HTTP_OPTIONS]: {
      "@type": `type.googleapis.com/${HTTP_OPTIONS}`,
      common_http_protocol_options: {
        max_requests_per_connection: 50,
        idle_timeout: "90s", // http.idleTimeout wins over tcp.idleTimeout
        max_connection_duration: "3600s",
      },
      explicit_http_config: {
        http2_protocol_options: {
          max_concurrent_streams: 64,
          connection_keepalive: { interval: "10s", timeout: "3s" },
        },
      },
    },
  });
  assert.deepEqual(c.outlier_detection, {
    enforcing_success_rate: 0,
    consecutive_5xx: 3,
    enforcing_consecutive_5xx: 100,
    consecutive_gateway_failure: 2,
    enforcing_consecutive_gateway_failure: 100,
    interval: "1s",
    base_ejection_time: "30s",
    max_ejection_percent: 50,
    split_external_local_origin_errors: true,
    consecutive_local_origin_failure: 4,
    enforcing_consecutive_local_origin_failure: 100,
    enforcing_local_origin_success_rate: 0,
  });
  assert.deepEqual(c.common_lb_config, { healthy_panic_threshold: { value: 25 } });
  const proxy = c.transport_socket;
  assert.equal(proxy.name, "envoy.transport_sockets.upstream_proxy_protocol");
  assert.deepEqual(proxy.typed_config.config, { version: "V2" });
  assert.deepEqual(proxy.typed_config.transport_socket.typed_config, {
    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
    common_tls_context: {
      validation_context: {
        trusted_ca: { filename: "/etc/certs/ca.pem" },
        match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "reviews.example.com" } }],
      },
      tls_certificates: [
        { certificate_chain: { filename: "/etc/certs/client.pem" }, private_key: { filename: "/etc/certs/key.pem" } },
      ],
    },
    sni: "reviews.example.com",
  });
  // The dynamic subset part is untouched.
  assert.deepEqual(c.lb_subset_config.subset_selectors, [{ keys: ["stage"] }]);
});

test("the rendered cluster passes Envoy's v3 protos", () => {
  assert.deepEqual(validateEnvoy(render(EVERYTHING)), []);
});

test("outlierDetection alone: Istio's panic threshold 0 (ejected hosts are not tried), unset counts left to Envoy", () => {
  const c = clusterOf({ outlierDetection: { consecutive5xxErrors: 0, baseEjectionTime: "15s" } });
  assert.deepEqual(c.outlier_detection, {
    enforcing_success_rate: 0,
    consecutive_5xx: 0,
    enforcing_consecutive_5xx: 0,
    base_ejection_time: "15s",
  });
  assert.deepEqual(c.common_lb_config, { healthy_panic_threshold: { value: 0 } });
  assert.equal(c.circuit_breakers, undefined);
});

test("connectionPool: unset thresholds are Istio's (unlimited), not Envoy's 1,024", () => {
  const c = clusterOf({ connectionPool: { tcp: { maxConnections: 7 } } });
  assert.deepEqual(c.circuit_breakers, { thresholds: [{ ...ISTIO_THRESHOLDS, max_connections: 7 }] });
  assert.equal(c.typed_extension_protocol_options, undefined);
});

test("useClientProtocol: the upstream speaks what the client spoke, never upgraded", () => {
  const c = clusterOf({ connectionPool: { http: { useClientProtocol: true, h2UpgradePolicy: "UPGRADE" } } });
  assert.deepEqual(c.typed_extension_protocol_options[HTTP_OPTIONS].use_downstream_protocol_config, {
    http_protocol_options: {},
    http2_protocol_options: {},
  });
  assert.equal(c.typed_extension_protocol_options[HTTP_OPTIONS].explicit_http_config, undefined);
});

test("loadBalancer: UNSPECIFIED and LEAST_CONN are Istio's LEAST_REQUEST; warmupDurationSecs is the slow start window", () => {
  assert.equal(clusterOf({ loadBalancer: { simple: "UNSPECIFIED" } }).lb_policy, "LEAST_REQUEST");
  const c = clusterOf({ loadBalancer: { simple: "LEAST_CONN", warmupDurationSecs: "1m" } });
  assert.equal(c.lb_policy, "LEAST_REQUEST");
  assert.deepEqual(c.least_request_lb_config, { slow_start_config: { slow_start_window: "60s" } });
  assert.equal(clusterOf({ loadBalancer: { simple: "RANDOM" } }).lb_policy, "RANDOM");
});

test("portLevelSettings: the entry for the routes' destination port replaces the top-level part it sets", () => {
  const policy = {
    connectionPool: { tcp: { maxConnections: 1 } },
    outlierDetection: { consecutive5xxErrors: 9 },
    portLevelSettings: [
      { port: { number: 9080 }, connectionPool: { tcp: { maxConnections: 2 } } },
      { port: { number: 9090 }, outlierDetection: { consecutive5xxErrors: 1 } },
    ],
  };
  const c = clusterOf(policy, 9080);
  assert.equal(c.circuit_breakers.thresholds[0].max_connections, 2);
  assert.equal(c.outlier_detection.consecutive_5xx, 9);
  const other = clusterOf(policy, 9090);
  assert.equal(other.circuit_breakers.thresholds[0].max_connections, 1);
  assert.equal(other.outlier_detection.consecutive_5xx, 1);
});

test("a DestinationRule without trafficPolicy beyond dynamicSubset renders the cluster as before", () => {
  const c = clusterOf({});
  for (const field of ["lb_policy", "circuit_breakers", "outlier_detection", "common_lb_config", "transport_socket"])
    assert.equal(c[field], undefined, field);
  assert.deepEqual(clusterTrafficPolicy(undefined, undefined, []), {});
});

test("fields Envoy cannot take from a DestinationRule alone are rejected, each named by file, document and path", () => {
  const at = (path) => `dr.yaml#0 spec.trafficPolicy.${path}`;
  assert.deepEqual(
    problemsOf({
      loadBalancer: { consistentHash: { httpHeaderName: "x-user" }, localityLbSetting: { enabled: true } },
      tls: { mode: "ISTIO_MUTUAL" },
      tunnel: { protocol: "CONNECT", targetHost: "a", targetPort: 80 },
      outlierDetection: { consecutiveErrors: 5 },
    }),
    [
      at(
        "tunnel: not supported by the envoy target: CONNECT tunnelling applies to TCP traffic; the envoy target renders HTTP routes",
      ),
      at(
        "loadBalancer.consistentHash: not supported by the envoy target: consistent hashing needs a hash policy on every route (use dynamicSubset %ip% to pin a pod)",
      ),
      at(
        "loadBalancer.localityLbSetting: not supported by the envoy target: locality load balancing needs the proxy's own locality and the endpoints' localities, which the endpoints file does not carry",
      ),
      at(
        "outlierDetection.consecutiveErrors: not supported by the envoy target: deprecated in Istio; use consecutive5xxErrors",
      ),
      at(
        "tls.mode: not supported by the envoy target: ISTIO_MUTUAL needs istiod's workload certificates (use SIMPLE or MUTUAL with files)",
      ),
    ],
  );
});

test("malformed values and unknown fields are rejected by path; nothing is rendered", () => {
  const at = (path) => `dr.yaml#0 spec.trafficPolicy.${path}`;
  assert.deepEqual(
    problemsOf({
      loadBalancer: { simple: "PASSTHROUGH" },
      connectionPool: { tcp: { connectTimeout: "soon", maxConnections: -1 }, http: { maxConcurrentStreams: 5 } },
      outlierDetection: { interval: 5, typo: 1 },
      tls: { mode: "MUTUAL", credentialName: "secret" },
      proxyProtocol: { version: "V3" },
      retryBudget: { budgetInterval: "10s" },
    }),
    [
      at(
        "loadBalancer.simple: not supported by the envoy target: PASSTHROUGH forwards to the original destination, without endpoints or subsets",
      ),
      at(
        "connectionPool.http.maxConcurrentStreams: not supported by the envoy target: applies to HTTP/2 upstream connections only (set h2UpgradePolicy: UPGRADE)",
      ),
      at(
        'connectionPool.tcp.connectTimeout: must be a duration of at least 1ms such as "10s", "100ms", "1m" (got "soon")',
      ),
      at("connectionPool.tcp.maxConnections: must be an integer from 1 to 4294967295"),
      at(
        "retryBudget.budgetInterval: not supported by the envoy target: Envoy 1.36 does not know the retry budget interval",
      ),
      at(
        "outlierDetection.typo: unknown field (expected one of: consecutive5xxErrors, consecutiveGatewayErrors, interval, baseEjectionTime, maxEjectionPercent, minHealthPercent, splitExternalLocalOriginErrors, consecutiveLocalOriginFailures, consecutiveErrors)",
      ),
      at('outlierDetection.interval: must be a duration of at least 1ms such as "10s", "100ms", "1m" (got 5)'),
      at(
        "tls.credentialName: not supported by the envoy target: a Kubernetes secret is read by istiod; give the files instead",
      ),
      at("tls.caCertificates: is required to verify the server (or set insecureSkipVerify: true)"),
      at("tls: MUTUAL needs clientCertificate and privateKey"),
      at("proxyProtocol.version: must be V1 or V2"),
    ],
  );
});

test("an unknown trafficPolicy field is refused before anything renders, naming Istio's fields", () => {
  assert.deepEqual(problemsOf({ outlierDetection: { interval: "1s" }, bogus: true }), [
    "dr.yaml#0 spec.trafficPolicy.bogus: unknown field of a TrafficPolicy (Istio's are: loadBalancer, connectionPool, outlierDetection, tls, portLevelSettings, tunnel, proxyProtocol, retryBudget); Kubernetes would drop it",
  ]);
});

test("loadBalancer.simple must agree with dynamicSubset.lbPolicy; portLevelSettings need one destination port", () => {
  const dr = (lb) => ({ loadBalancer: { simple: "RANDOM", ...lb } });
  const conflicting = input(dr({}));
  conflicting.destinationRules[0].dynamicSubset.lbPolicy = "ROUND_ROBIN";
  const problems = [];
  clusterTrafficPolicy(conflicting.destinationRules[0], 9080, problems);
  assert.deepEqual(problems, [
    "dr.yaml#0 spec.trafficPolicy.loadBalancer.simple: RANDOM conflicts with dynamicSubset.lbPolicy ROUND_ROBIN (set one of them)",
  ]);
  const noPort = [];
  clusterTrafficPolicy(input({ portLevelSettings: [] }).destinationRules[0], undefined, noPort);
  assert.deepEqual(noPort, [
    "dr.yaml#0 spec.trafficPolicy.portLevelSettings: not supported by the envoy target: the routes to this host do not name one destination port (set destination.port.number)",
  ]);
});

test("tls without a CA file is refused unless verification is skipped on purpose; warmup needs its duration", () => {
  const problems = [];
  const dr = (policy) => input(policy).destinationRules[0];
  clusterTrafficPolicy(
    dr({ tls: { mode: "SIMPLE" }, loadBalancer: { warmup: { minimumPercent: 5 } } }),
    9080,
    problems,
  );
  assert.deepEqual(problems, [
    "dr.yaml#0 spec.trafficPolicy.loadBalancer.warmup.duration: is required",
    "dr.yaml#0 spec.trafficPolicy.tls.caCertificates: is required to verify the server (or set insecureSkipVerify: true)",
  ]);
  const skipped = clusterTrafficPolicy(dr({ tls: { mode: "SIMPLE", insecureSkipVerify: true, sni: "x" } }), 9080, []);
  assert.deepEqual(skipped.transport_socket.typed_config.common_tls_context, {});
});

test("durations: Istio's (Go) duration text", () => {
  assert.equal(durationSeconds("1h2m3.5s"), 3723.5);
  assert.equal(durationSeconds("100ms"), 0.1);
  for (const bad of ["", "10", "1x", "s", "1s2"]) assert.equal(durationSeconds(bad), undefined, bad);
});

forEachEnvoy("real Envoy accepts every translated trafficPolicy field (envoy --mode validate)", (envoy) => {
  test("the rendered bootstrap validates", async () => {
    // TLS files must exist for validation to load them: keep TLS out here, it is checked on the protos above.
    const { tls: _tls, ...policy } = EVERYTHING;
    const { code, log } = await runEnvoyToExit(envoy.bin, render(policy), { args: ["--mode", "validate"] });
    assert.equal(code, 0, log.slice(-3000));
  });
});
