// A DestinationRule's spec.trafficPolicy as Envoy cluster fields, for the envoy target (metadata mode).
//
//   clusterTrafficPolicy(dr, port, problems): EnvoyClusterFields
//       The cluster fields that carry `dr`'s trafficPolicy (merged with its portLevelSettings entry for `port`,
//       the destination port of the routes, when known). Every field Envoy supports is translated the way istiod
//       translates it for a sidecar (istio/istio pilot/pkg/networking/core/cluster_traffic_policy.go
//       applyConnectionPool, applyOutlierDetection, applyLoadBalancer, applyRetryBudget, applyUpstreamProxyProtocol;
//       cluster.go applyTCPKeepalive; cluster_builder.go setH2Options, setUseDownstreamProtocol). A field that has
//       no Envoy translation without the mesh (istiod's certificates, the proxy's locality) is a problem pushed to
//       `problems`, naming it: `<file>#<doc> spec.trafficPolicy.<path>: <why>`; then the result is incomplete.
//
// Pure: reads the parsed document, writes nothing. Istio's defaults where a DestinationRule sets a block but not
// every field of it: circuit-breaker thresholds unlimited (getDefaultCircuitBreakerThresholds: 2^32-1, not
// Envoy's 1,024), success-rate ejection off, and with outlierDetection the healthy panic threshold minHealthPercent
// (default 0: panic mode off, so ejected hosts are never tried again while ejected).

import type { AsmDestinationRule, AsmInput } from "../asm/index.js";
import { LOAD_BALANCER, TRAFFIC_POLICY } from "../asm/istio-fields.js";
import { type Obj } from "../input/object.js";
import { child, DocReader, type Node } from "../input/reader.js";
import { fqdn } from "../input/syntax.js";

export type EnvoyClusterFields = Obj;

const UNLIMITED = 4294967295;
const HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const typed = (type: string, body: Obj = {}): Obj => ({ "@type": `type.googleapis.com/${type}`, ...body });

const PORT_FIELDS = ["port", "loadBalancer", "connectionPool", "outlierDetection", "tls"];
// The field lists Istio's CRDs define (checked against them by test/render/istio-fields.test.mjs); the ASM reader
// has already refused others in trafficPolicy and loadBalancer, so these checks only guard direct callers.
const LB_FIELDS = [...LOAD_BALANCER, "dynamicSubset"];
const TCP_FIELDS = ["maxConnections", "connectTimeout", "tcpKeepalive", "maxConnectionDuration", "idleTimeout"];
const HTTP_FIELDS = [
  "http1MaxPendingRequests",
  "http2MaxRequests",
  "maxRequestsPerConnection",
  "maxRetries",
  "idleTimeout",
  "h2UpgradePolicy",
  "useClientProtocol",
  "maxConcurrentStreams",
  "http2KeepAlive",
];
const OUTLIER_FIELDS = [
  "consecutive5xxErrors",
  "consecutiveGatewayErrors",
  "interval",
  "baseEjectionTime",
  "maxEjectionPercent",
  "minHealthPercent",
  "splitExternalLocalOriginErrors",
  "consecutiveLocalOriginFailures",
  "consecutiveErrors",
];
const TLS_FIELDS = [
  "mode",
  "clientCertificate",
  "privateKey",
  "caCertificates",
  "caCrl",
  "credentialName",
  "subjectAltNames",
  "sni",
  "insecureSkipVerify",
];

/** Istio's LoadBalancerSettings.SimpleLB -> Envoy's lb_policy (LEAST_CONN is Istio's old name of LEAST_REQUEST). */
const SIMPLE_LB: Record<string, string> = {
  UNSPECIFIED: "LEAST_REQUEST", // istiod's defaultLBAlgorithm
  LEAST_CONN: "LEAST_REQUEST",
  LEAST_REQUEST: "LEAST_REQUEST",
  RANDOM: "RANDOM",
  ROUND_ROBIN: "ROUND_ROBIN",
};

/** Go / Istio duration text (`1h2m3.5s`, `100ms`) -> seconds, or undefined if it is not one. */
export function durationSeconds(text: string): number | undefined {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit], 0);
}

/** A reader of one trafficPolicy block: checked values, problems named by path. */
class PolicyReader {
  constructor(readonly r: DocReader) {}

  fields(n: Node, allowed: readonly string[]): Obj | undefined {
    return n.v === undefined ? undefined : this.r.object(n, allowed);
  }

  count(n: Node, { max = UNLIMITED, min = 0 } = {}): number | undefined {
    if (n.v === undefined) return undefined;
    if (typeof n.v === "number" && Number.isInteger(n.v) && n.v >= min && n.v <= max) return n.v;
    return this.r.fail(n, `must be an integer from ${min} to ${max}`);
  }

  /** A duration as Envoy's protobuf JSON text (`1.5s`); at least 1 ms, as Istio's validation requires. */
  duration(n: Node): string | undefined {
    if (n.v === undefined) return undefined;
    const seconds = typeof n.v === "string" ? durationSeconds(n.v) : undefined;
    if (seconds === undefined || seconds < 1e-3)
      return this.r.fail(
        n,
        `must be a duration of at least 1ms such as "10s", "100ms", "1m" (got ${JSON.stringify(n.v)})`,
      );
    return `${Number(seconds.toFixed(9))}s`;
  }

  flag(n: Node): boolean | undefined {
    if (n.v === undefined || typeof n.v === "boolean") return n.v;
    return this.r.fail(n, "must be true or false");
  }

  unsupported(n: Node, why: string): void {
    if (n.v !== undefined) this.r.fail(n, `not supported by the envoy target: ${why}`);
  }
}

/** One trafficPolicy (or portLevelSettings entry) with the parts Istio replaces whole per port. */
type Components = Partial<Record<"loadBalancer" | "connectionPool" | "outlierDetection" | "tls", Node>>;

function loadBalancer(p: PolicyReader, n: Node, dynamicLbPolicy: string | undefined, out: Obj): void {
  if (!p.fields(n, LB_FIELDS)) return;
  p.unsupported(
    child(n, "consistentHash"),
    "consistent hashing needs a hash policy on every route (use dynamicSubset %ip% to pin a pod)",
  );
  p.unsupported(
    child(n, "localityLbSetting"),
    "locality load balancing needs the proxy's own locality and the endpoints' localities, which the endpoints file does not carry",
  );
  const simpleNode = child(n, "simple");
  let policy: string | undefined;
  if (simpleNode.v !== undefined) {
    policy = typeof simpleNode.v === "string" ? SIMPLE_LB[simpleNode.v] : undefined;
    if (policy === undefined) {
      if (simpleNode.v === "PASSTHROUGH")
        p.unsupported(simpleNode, "PASSTHROUGH forwards to the original destination, without endpoints or subsets");
      else p.r.fail(simpleNode, `must be one of ${Object.keys(SIMPLE_LB).join(", ")}`);
      return;
    }
    if (dynamicLbPolicy !== undefined && dynamicLbPolicy !== policy)
      p.r.fail(
        simpleNode,
        `${simpleNode.v} conflicts with dynamicSubset.lbPolicy ${dynamicLbPolicy} (set one of them)`,
      );
    out.lb_policy = policy;
  }
  const slowStart = slowStartConfig(p, n);
  if (!slowStart) return;
  const effective = policy ?? dynamicLbPolicy ?? "ROUND_ROBIN"; // Envoy's default lb_policy
  if (effective === "ROUND_ROBIN") out.round_robin_lb_config = { slow_start_config: slowStart };
  else if (effective === "LEAST_REQUEST") out.least_request_lb_config = { slow_start_config: slowStart };
  else
    p.r.fail(
      child(n, "warmupDurationSecs").v !== undefined ? child(n, "warmupDurationSecs") : child(n, "warmup"),
      `Envoy's slow start applies to ROUND_ROBIN and LEAST_REQUEST only, not ${effective}`,
    );
}

/** warmup (duration, minimumPercent, aggression) or the older warmupDurationSecs -> slow_start_config. */
function slowStartConfig(p: PolicyReader, n: Node): Obj | undefined {
  const warmup = child(n, "warmup");
  if (p.fields(warmup, ["duration", "minimumPercent", "aggression"])) {
    const duration = child(warmup, "duration");
    const window = duration.v === undefined ? p.r.fail(duration, "is required") : p.duration(duration);
    const minimum = child(warmup, "minimumPercent").v ?? 10; // Istio's and Envoy's default
    const aggression = child(warmup, "aggression").v ?? 1;
    if (typeof minimum !== "number" || minimum < 0 || minimum > 100)
      p.r.fail(child(warmup, "minimumPercent"), "must be a number from 0 to 100");
    if (typeof aggression !== "number" || aggression <= 0)
      p.r.fail(child(warmup, "aggression"), "must be a number greater than 0");
    // Istio fixes the runtime key; "(" is not a valid key, so the value is always the default.
    return {
      slow_start_window: window,
      aggression: { default_value: aggression, runtime_key: "(" },
      min_weight_percent: { value: minimum },
    };
  }
  const window = p.duration(child(n, "warmupDurationSecs"));
  return window === undefined ? undefined : { slow_start_window: window };
}

interface HttpOptions {
  common: Obj; // common_http_protocol_options
  http2: Obj | undefined; // http2_protocol_options when the upstream speaks HTTP/2
  useDownstream: boolean;
}

function connectionPool(p: PolicyReader, n: Node, thresholds: Obj, out: Obj, http: HttpOptions): void {
  if (!p.fields(n, ["tcp", "http"])) return;
  const tcp = child(n, "tcp");
  const h = child(n, "http");
  const httpFields = p.fields(h, HTTP_FIELDS);
  const set = (key: string, value: unknown) => value !== undefined && (thresholds[key] = value);
  if (httpFields) {
    // istiod: 0 means "not set" for these counts.
    set("max_requests", p.count(child(h, "http2MaxRequests"), { min: 1 }));
    set("max_pending_requests", p.count(child(h, "http1MaxPendingRequests"), { min: 1 }));
    set("max_retries", p.count(child(h, "maxRetries")) || undefined);
    const perConnection = p.count(child(h, "maxRequestsPerConnection"));
    if (perConnection) http.common.max_requests_per_connection = perConnection;
    const idle = p.duration(child(h, "idleTimeout"));
    if (idle) http.common.idle_timeout = idle;
    const upgrade = child(h, "h2UpgradePolicy");
    if (upgrade.v !== undefined && !["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"].includes(String(upgrade.v)))
      p.r.fail(upgrade, "must be one of DEFAULT, DO_NOT_UPGRADE, UPGRADE");
    http.useDownstream = p.flag(child(h, "useClientProtocol")) === true;
    // Upgrade only when asked (the mesh default h2UpgradePolicy is DO_NOT_UPGRADE), never with useClientProtocol.
    if (upgrade.v === "UPGRADE" && !http.useDownstream) http.http2 = {};
    const streams = child(h, "maxConcurrentStreams");
    const keepAlive = child(h, "http2KeepAlive");
    if (!http.http2) {
      const why = "applies to HTTP/2 upstream connections only (set h2UpgradePolicy: UPGRADE)";
      p.unsupported(streams, why);
      p.unsupported(keepAlive, why);
    } else {
      const max = p.count(streams, { min: 1, max: 2147483647 });
      if (max) http.http2.max_concurrent_streams = max;
      if (p.fields(keepAlive, ["interval", "timeout"]))
        http.http2.connection_keepalive = {
          interval: p.duration(child(keepAlive, "interval")),
          timeout: p.duration(child(keepAlive, "timeout")),
        };
    }
  }
  if (!p.fields(tcp, TCP_FIELDS)) return;
  const timeout = p.duration(child(tcp, "connectTimeout"));
  if (timeout) out.connect_timeout = timeout;
  set("max_connections", p.count(child(tcp, "maxConnections"), { min: 1 }));
  const duration = p.duration(child(tcp, "maxConnectionDuration"));
  if (duration) http.common.max_connection_duration = duration;
  const idle = p.duration(child(tcp, "idleTimeout"));
  if (idle && http.common.idle_timeout === undefined) http.common.idle_timeout = idle;
  const keepalive = child(tcp, "tcpKeepalive");
  if (p.fields(keepalive, ["probes", "time", "interval"])) {
    const probes = p.count(child(keepalive, "probes"), { min: 1 });
    // Envoy takes whole seconds here; istiod truncates.
    const seconds = (k: string) => {
      const d = p.duration(child(keepalive, k));
      return d === undefined ? undefined : Math.trunc(Number(d.slice(0, -1)));
    };
    const tcpKeepalive: Obj = {};
    if (probes) tcpKeepalive.keepalive_probes = probes;
    const time = seconds("time");
    if (time !== undefined) tcpKeepalive.keepalive_time = time;
    const interval = seconds("interval");
    if (interval !== undefined) tcpKeepalive.keepalive_interval = interval;
    out.upstream_connection_options = { tcp_keepalive: tcpKeepalive };
  }
}

/** consecutive errors: the count and its enforcement (100 % when the count is above 0, as istiod writes it). */
function consecutive(p: PolicyReader, n: Node, count: string, enforcing: string, out: Obj): void {
  const v = p.count(n);
  if (v === undefined) return;
  out[count] = v;
  out[enforcing] = v > 0 ? 100 : 0;
}

function outlierDetection(p: PolicyReader, n: Node, out: Obj): void {
  if (!p.fields(n, OUTLIER_FIELDS)) return;
  p.unsupported(child(n, "consecutiveErrors"), "deprecated in Istio; use consecutive5xxErrors");
  const od: Obj = { enforcing_success_rate: 0 };
  consecutive(p, child(n, "consecutive5xxErrors"), "consecutive_5xx", "enforcing_consecutive_5xx", od);
  consecutive(
    p,
    child(n, "consecutiveGatewayErrors"),
    "consecutive_gateway_failure",
    "enforcing_consecutive_gateway_failure",
    od,
  );
  const interval = p.duration(child(n, "interval"));
  if (interval) od.interval = interval;
  const base = p.duration(child(n, "baseEjectionTime"));
  if (base) od.base_ejection_time = base;
  const maxPercent = p.count(child(n, "maxEjectionPercent"), { max: 100 });
  if (maxPercent) od.max_ejection_percent = maxPercent;
  if (p.flag(child(n, "splitExternalLocalOriginErrors"))) {
    od.split_external_local_origin_errors = true;
    const local = p.count(child(n, "consecutiveLocalOriginFailures"));
    if (local) {
      od.consecutive_local_origin_failure = local;
      od.enforcing_consecutive_local_origin_failure = 100;
    }
    od.enforcing_local_origin_success_rate = 0;
  }
  out.outlier_detection = od;
  const minHealth = p.count(child(n, "minHealthPercent"), { max: 100 }) ?? 0;
  out.common_lb_config = { healthy_panic_threshold: { value: minHealth } };
}

/** ClientTLSSettings with files on the proxy's disk -> an UpstreamTlsContext transport socket. */
function tls(p: PolicyReader, n: Node): Obj | undefined {
  if (!p.fields(n, TLS_FIELDS)) return undefined;
  const mode = child(n, "mode");
  if (mode.v === undefined || mode.v === "DISABLE") return undefined;
  if (mode.v === "ISTIO_MUTUAL") {
    p.unsupported(mode, "ISTIO_MUTUAL needs istiod's workload certificates (use SIMPLE or MUTUAL with files)");
    return undefined;
  }
  if (mode.v !== "SIMPLE" && mode.v !== "MUTUAL")
    return p.r.fail(mode, "must be one of DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL");
  p.unsupported(child(n, "credentialName"), "a Kubernetes secret is read by istiod; give the files instead");
  const file = (k: string) => {
    const v = child(n, k);
    if (v.v === undefined) return undefined;
    return typeof v.v === "string" && v.v !== "" ? { filename: v.v } : p.r.fail(v, "must be a file path");
  };
  const context: Obj = {};
  const ca = file("caCertificates");
  const validation: Obj = {};
  if (ca) validation.trusted_ca = ca;
  const crl = file("caCrl");
  if (crl) validation.crl = crl;
  const sans = child(n, "subjectAltNames");
  if (sans.v !== undefined) {
    const names = p.r.list(sans)?.map((s) => p.r.plainString(s));
    if (names?.every((s) => s !== undefined))
      validation.match_typed_subject_alt_names = names.map((exact) => ({ san_type: "DNS", matcher: { exact } }));
  }
  if (p.flag(child(n, "insecureSkipVerify")) === true) {
    if (Object.keys(validation).length > 0)
      p.r.fail(child(n, "insecureSkipVerify"), "contradicts caCertificates/subjectAltNames (verify, or skip)");
  } else if (!ca) {
    // Istio verifies the server with the system's CAs by default; Envoy without a CA would not verify at all.
    p.r.fail(child(n, "caCertificates"), "is required to verify the server (or set insecureSkipVerify: true)");
  } else context.validation_context = validation;
  const common: Obj = {};
  if (Object.keys(context).length > 0) Object.assign(common, context);
  const cert = file("clientCertificate");
  const key = file("privateKey");
  if (mode.v === "MUTUAL") {
    if (!cert || !key) p.r.fail(n, "MUTUAL needs clientCertificate and privateKey");
    else common.tls_certificates = [{ certificate_chain: cert, private_key: key }];
  }
  const upstream: Obj = { common_tls_context: common };
  const sni = child(n, "sni");
  if (sni.v !== undefined) upstream.sni = p.r.plainString(sni);
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: typed("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", upstream),
  };
}

/** proxyProtocol {version: V1|V2} wraps the transport socket (raw, or TLS). */
function proxyProtocol(p: PolicyReader, n: Node, inner: Obj | undefined): Obj | undefined {
  if (!p.fields(n, ["version"])) return inner;
  const version = child(n, "version");
  if (version.v !== undefined && version.v !== "V1" && version.v !== "V2") return p.r.fail(version, "must be V1 or V2");
  return {
    name: "envoy.transport_sockets.upstream_proxy_protocol",
    typed_config: typed("envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport", {
      config: { version: version.v ?? "V1" },
      transport_socket: inner ?? {
        name: "envoy.transport_sockets.raw_buffer",
        typed_config: typed("envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"),
      },
    }),
  };
}

/** retryBudget {percent, minRetryConcurrency, budgetInterval} -> thresholds.retry_budget (istiod's defaults). */
function retryBudget(p: PolicyReader, n: Node, thresholds: Obj): void {
  if (!p.fields(n, ["percent", "minRetryConcurrency", "budgetInterval"])) return;
  const percent = child(n, "percent");
  const value = percent.v === undefined ? 20 : isObjValue(percent.v) ? percent.v.value : percent.v;
  if (typeof value !== "number" || value < 0 || value > 100) p.r.fail(percent, "must be a percentage from 0 to 100");
  const budget: Obj = {
    budget_percent: { value },
    min_retry_concurrency: p.count(child(n, "minRetryConcurrency"), { min: 1 }) ?? 3,
  };
  // budget_interval is unknown to Envoy 1.36.2 (its `--mode validate` refuses it) and to the v3 protos checked here.
  p.unsupported(child(n, "budgetInterval"), "Envoy 1.36 does not know the retry budget interval");
  thresholds.retry_budget = budget;
}

const isObjValue = (v: unknown): v is { value: unknown } => typeof v === "object" && v !== null && "value" in v;

/** The portLevelSettings entry for `port` replaces the top-level loadBalancer, connectionPool, ... it sets. */
function componentsFor(p: PolicyReader, tp: Node, port: number | undefined): Components {
  const own: Components = {};
  for (const k of ["loadBalancer", "connectionPool", "outlierDetection", "tls"] as const)
    if (child(tp, k).v !== undefined) own[k] = child(tp, k);
  const levels = child(tp, "portLevelSettings");
  if (levels.v === undefined) return own;
  if (port === undefined) {
    p.unsupported(levels, "the routes to this host do not name one destination port (set destination.port.number)");
    return own;
  }
  for (const entry of p.r.list(levels) ?? []) {
    if (!p.fields(entry, PORT_FIELDS)) continue;
    const number = p.count(child(child(entry, "port"), "number"), { min: 1, max: 65535 });
    if (number === undefined) p.r.fail(child(entry, "port"), "must name the port: {number: <port>}");
    if (number !== port) continue;
    for (const k of ["loadBalancer", "connectionPool", "outlierDetection", "tls"] as const)
      if (child(entry, k).v !== undefined) own[k] = child(entry, k);
  }
  return own;
}

/** The one destination port the routes to `host` name (destination.port.number), if they name exactly one. */
export function destinationPort(input: AsmInput, host: string): number | undefined {
  const ports = new Set<unknown>();
  for (const vs of input.virtualServices)
    for (const route of vs.http)
      for (const d of Array.isArray(route.route.route) ? route.route.route : []) {
        const destination = (d as Obj)?.destination as Obj | undefined;
        if (typeof destination?.host === "string" && fqdn(destination.host, vs.namespace) === host)
          ports.add((destination.port as Obj | undefined)?.number);
      }
  const [port] = ports;
  return ports.size === 1 && typeof port === "number" ? port : undefined;
}

export function clusterTrafficPolicy(
  dr: AsmDestinationRule | undefined,
  port: number | undefined,
  problems: string[],
): EnvoyClusterFields {
  const out: Obj = {};
  const root: Node = { v: dr?.document, raw: dr?.document, path: "" };
  const tp = child(child(root, "spec"), "trafficPolicy");
  if (!dr || tp.v === undefined) return out;
  const p = new PolicyReader(new DocReader(dr.ref, problems, []));
  if (!p.fields(tp, TRAFFIC_POLICY)) return out;
  p.unsupported(child(tp, "tunnel"), "CONNECT tunnelling applies to TCP traffic; the envoy target renders HTTP routes");
  const parts = componentsFor(p, tp, port);
  if (parts.loadBalancer) loadBalancer(p, parts.loadBalancer, dr.dynamicSubset?.lbPolicy, out);
  const thresholds: Obj = {
    max_connections: UNLIMITED,
    max_pending_requests: UNLIMITED,
    max_requests: UNLIMITED,
    max_retries: UNLIMITED,
    track_remaining: true,
  };
  const http: HttpOptions = { common: {}, http2: undefined, useDownstream: false };
  if (parts.connectionPool) connectionPool(p, parts.connectionPool, thresholds, out, http);
  retryBudget(p, child(tp, "retryBudget"), thresholds);
  if (parts.connectionPool || child(tp, "retryBudget").v !== undefined)
    out.circuit_breakers = { thresholds: [thresholds] };
  const protocol = httpProtocolOptions(http);
  if (protocol) out.typed_extension_protocol_options = { [HTTP_OPTIONS]: protocol };
  if (parts.outlierDetection) outlierDetection(p, parts.outlierDetection, out);
  const socket = proxyProtocol(p, child(tp, "proxyProtocol"), parts.tls ? tls(p, parts.tls) : undefined);
  if (socket) out.transport_socket = socket;
  return out;
}

/** HttpProtocolOptions when anything differs from plain HTTP/1.1 with Envoy's defaults. */
function httpProtocolOptions(http: HttpOptions): Obj | undefined {
  const hasCommon = Object.keys(http.common).length > 0;
  if (!hasCommon && !http.http2 && !http.useDownstream) return undefined;
  const options: Obj = typed(HTTP_OPTIONS);
  if (hasCommon) options.common_http_protocol_options = http.common;
  if (http.useDownstream)
    options.use_downstream_protocol_config = { http_protocol_options: {}, http2_protocol_options: {} };
  else
    options.explicit_http_config = http.http2 ? { http2_protocol_options: http.http2 } : { http_protocol_options: {} };
  return options;
}
