// The Envoy configuration that istiod generates for a client sidecar's outbound HTTP listener, built from the
// manifests a user applies (WasmPlugin, DestinationRule, VirtualService, EnvoyFilter, Service) and the pods they select, so
// that catalog mode runs in a real Envoy without Istio. Each rule below names the Istio source it follows
// (istio/istio master, pilot/pkg/...; read, not copied). Only what these manifests use is translated: anything
// else throws, so a test never runs a guess.
//
//   istiodSidecar({ manifests, pods, services }, options) -> {
//     bootstrap,                  an Envoy bootstrap: listener "0.0.0.0_8000" (moved to a free loopback port by
//                                 startEnvoy), its route configuration, one EDS cluster per service and subset
//     loadAssignments,            Map cluster name -> ClusterLoadAssignment (what istiod's EDS pushes)
//     edsPath(clusterName),       the file each EDS cluster reads (write loadAssignments there first)
//   }
//   manifests: YAML text of the applied resources; pods: `kubectl get pods -o json`; services: YAML of further
//   Services on the same port (no VirtualService: istiod's default route). options: { wasm (file Envoy loads),
//   edsDir, listenerPort (default 8000), accessLog (an extra HCM access_log entry, for tests), fetchFailed (istio-agent
//   could not fetch the module: the RBAC filter it installs instead) }.
//
// Differences from a sidecar, on purpose: xDS arrives as a static bootstrap and file-based EDS instead of ADS;
// the wasm filter is inline instead of ECDS (the same Wasm message); no mTLS (the echo pods have no sidecar), so
// no transport sockets; istio-proxy's own filters (istio.metadata_exchange, istio.alpn, istio.stats) are left out
// (not in upstream Envoy) and do not touch routing; no catch-all `allow_any` virtual host (its PassthroughCluster
// would send unknown hosts back to this loopback listener); the Service's cluster IP is not a domain (unknown
// for a manifest). Istio version modelled: master (1.31 development line), see the rules for version notes.

import path from "node:path";
import { parse, parseAllDocuments } from "yaml";

const OUTBOUND = "outbound";
const DNS_SUFFIX = "svc.cluster.local";
const SESSION_FILTER = "envoy.filters.http.stateful_session";
const HEADER_SESSION_LABEL = "istio.io/persistent-session-header";
const COOKIE_SESSION_LABEL = "istio.io/persistent-session";
const type = (name) => `type.googleapis.com/${name}`;
const MAX = 4294967295;

// ---- inputs -----------------------------------------------------------------------------------------------------

const documents = (text) =>
  parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((d) => d && typeof d === "object");

function podItems(text) {
  const doc = parse(text);
  return Array.isArray(doc?.items) ? doc.items : [doc];
}

const fqdn = (name, namespace) => `${name}.${namespace}.${DNS_SUFFIX}`;

/** A Kubernetes Service as istiod's registry sees it (pilot/pkg/serviceregistry/kube/conversion.go). */
function registryService(doc) {
  const namespace = doc.metadata.namespace ?? "default";
  return {
    hostname: fqdn(doc.metadata.name, namespace),
    namespace,
    labels: doc.metadata.labels ?? {},
    selector: doc.spec.selector ?? {},
    ports: doc.spec.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort ?? p.port })),
  };
}

/** Protocol from the port name (pkg/config/kube/conversion.go ConvertProtocol): only HTTP ports are translated. */
const isHttpPort = (port) => /^(http|http2|grpc)(-|$)/.test(port.name ?? "");

// ---- endpoints (EDS) --------------------------------------------------------------------------------------------

const HEALTHY = "HEALTHY";
const UNHEALTHY = "UNHEALTHY";
const DRAINING = "DRAINING";
const TERMINATING = "TERMINATING";

/**
 * An endpoint's health from its EndpointSlice conditions (pilot/pkg/serviceregistry/kube/controller/
 * endpointslice.go endpointHealthStatus). The EndpointSlice controller derives them from the pod: ready = Ready
 * condition and not terminating; serving = Ready condition; terminating = deletionTimestamp set.
 */
function endpointHealth(pod, service) {
  const terminating = pod.metadata.deletionTimestamp !== undefined;
  const serving = (pod.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  if (serving && !terminating) return HEALTHY;
  if (supportsPersistentSession(service) && serving && terminating) return DRAINING;
  if (terminating) return TERMINATING;
  return UNHEALTHY;
}

/** pilot/pkg/model/service.go SupportsDrainingEndpoints: either persistent-session label. */
const supportsPersistentSession = (service) =>
  Boolean(service.labels[COOKIE_SESSION_LABEL] || service.labels[HEADER_SESSION_LABEL]);

/** A named targetPort resolves in the pod's own container ports (the EndpointSlice controller's rule). */
function targetPort(pod, port) {
  if (typeof port.targetPort === "number") return port.targetPort;
  const ports = pod.spec.containers.flatMap((c) => c.ports ?? []);
  return ports.find((p) => p.name === port.targetPort)?.containerPort;
}

/**
 * The endpoints istiod pushes for one service port, filtered as pilot/pkg/xds/endpoints/endpoint_builder.go
 * filterIstioEndpoint does: UNHEALTHY endpoints are kept (sent by default since Istio 1.31,
 * PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS in pilot/pkg/features/experimental.go; earlier versions drop them), terminating
 * ones are dropped, draining ones are kept only for the cookie persistent-session label.
 */
function serviceEndpoints(service, port, pods) {
  return pods
    .filter((pod) => (pod.metadata.namespace ?? "default") === service.namespace)
    .filter((pod) => Object.entries(service.selector).every(([k, v]) => pod.metadata.labels?.[k] === v))
    .filter((pod) => pod.status?.podIP)
    .map((pod) => ({
      ip: pod.status.podIP,
      port: targetPort(pod, port),
      labels: pod.metadata.labels ?? {},
      health: endpointHealth(pod, service),
    }))
    .filter((ep) => ep.port !== undefined && ep.health !== TERMINATING)
    .filter((ep) => ep.health !== DRAINING || Boolean(service.labels[COOKIE_SESSION_LABEL]));
}

/** pilot/pkg/xds/endpoints/endpoint_builder.go buildEnvoyLbEndpoint: address, health status, weight 1. */
function loadAssignment(clusterName, endpoints) {
  return {
    "@type": type("envoy.config.endpoint.v3.ClusterLoadAssignment"),
    cluster_name: clusterName,
    endpoints: [
      {
        locality: {},
        lb_endpoints: endpoints.map((ep) => ({
          endpoint: { address: { socket_address: { address: ep.ip, port_value: ep.port } } },
          health_status: ep.health,
          load_balancing_weight: 1,
        })),
      },
    ],
  };
}

// ---- clusters (CDS) ---------------------------------------------------------------------------------------------

/** pilot/pkg/model/service.go BuildSubsetKey. */
const clusterName = (port, subset, host) => `${OUTBOUND}|${port}|${subset ?? ""}|${host}`;

/** DestinationRule trafficPolicy.loadBalancer.simple (cluster_traffic_policy.go applyLoadBalancer; default
 * defaultLBAlgorithm LEAST_REQUEST). */
function lbPolicy(trafficPolicy) {
  const lb = trafficPolicy?.loadBalancer;
  const unsupported = Object.keys(lb ?? {}).filter((k) => k !== "simple");
  if (unsupported.length > 0) throw new Error(`istiod model: loadBalancer.${unsupported[0]} is not translated`);
  const simple = lb?.simple ?? "UNSPECIFIED";
  const policies = {
    UNSPECIFIED: "LEAST_REQUEST",
    LEAST_REQUEST: "LEAST_REQUEST",
    LEAST_CONN: "LEAST_REQUEST",
    ROUND_ROBIN: "ROUND_ROBIN",
    RANDOM: "RANDOM",
  };
  if (!policies[simple]) throw new Error(`istiod model: loadBalancer.simple ${simple} is not translated`);
  return policies[simple];
}

/**
 * One EDS cluster (cluster_builder.go buildCluster + maybeApplyEdsConfig; ADS replaced by a file here) with the
 * traffic policy istiod applies when the DestinationRule sets none (cluster_traffic_policy.go applyTrafficPolicy):
 * connect timeout = mesh connectTimeout 10s (applyDefaultConnectionPool, pkg/config/mesh/mesh.go
 * DefaultMeshConfig), circuit breakers wide open (getDefaultCircuitBreakerThresholds), and a healthy panic
 * threshold of 0 because unhealthy endpoints are sent (applyLoadBalancer: a cluster in panic would route to them).
 */
function edsCluster(name, trafficPolicy, edsPath) {
  const translated = ["loadBalancer", "outlierDetection"];
  const unsupported = Object.keys(trafficPolicy ?? {}).filter((k) => !translated.includes(k));
  if (unsupported.length > 0) throw new Error(`istiod model: trafficPolicy.${unsupported[0]} is not translated`);
  const outlier = outlierDetection(trafficPolicy?.outlierDetection);
  return {
    name,
    type: "EDS",
    eds_cluster_config: {
      service_name: name,
      eds_config: { path_config_source: { path: edsPath(name) }, resource_api_version: "V3" },
    },
    connect_timeout: "10s",
    lb_policy: lbPolicy(trafficPolicy),
    circuit_breakers: {
      thresholds: [
        { max_connections: MAX, max_pending_requests: MAX, max_requests: MAX, max_retries: MAX, track_remaining: true },
      ],
    },
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    ...(outlier ? { outlier_detection: outlier } : {}),
  };
}

/**
 * DestinationRule trafficPolicy.outlierDetection (cluster_traffic_policy.go applyOutlierDetection): success-rate
 * ejection off, each consecutive-error count enforced at 100%, interval, base ejection time and max ejection percent
 * as given. The healthy panic threshold stays 0 (a service with unhealthy endpoints sent forces it).
 */
function outlierDetection(outlier) {
  if (!outlier) return undefined;
  const known = [
    "consecutive5xxErrors",
    "consecutiveGatewayErrors",
    "interval",
    "baseEjectionTime",
    "maxEjectionPercent",
  ];
  const unknown = Object.keys(outlier).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new Error(`istiod model: outlierDetection.${unknown[0]} is not translated`);
  const out = { enforcing_success_rate: 0 };
  const enforced = (count) => (count > 0 ? 100 : 0);
  if (outlier.consecutive5xxErrors !== undefined) {
    out.consecutive_5xx = outlier.consecutive5xxErrors;
    out.enforcing_consecutive_5xx = enforced(outlier.consecutive5xxErrors);
  }
  if (outlier.consecutiveGatewayErrors !== undefined) {
    out.consecutive_gateway_failure = outlier.consecutiveGatewayErrors;
    out.enforcing_consecutive_gateway_failure = enforced(outlier.consecutiveGatewayErrors);
  }
  if (outlier.interval) out.interval = outlier.interval;
  if (outlier.baseEjectionTime) out.base_ejection_time = outlier.baseEjectionTime;
  if (outlier.maxEjectionPercent > 0) out.max_ejection_percent = outlier.maxEjectionPercent;
  return out;
}

/**
 * The default cluster of a service port and one cluster per DestinationRule subset (cluster.go
 * buildOutboundClusters, cluster_builder.go applyDestinationRule/buildSubsetCluster). A Service with a
 * persistent-session label gets override_host_status on its default cluster only, so that a session may pick a
 * DRAINING host (cluster.go, SupportsDrainingEndpoints); subset clusters are built fresh and keep Envoy's default.
 */
function serviceClusters(service, port, destinationRule, edsPath) {
  const policy = destinationRule?.spec.trafficPolicy;
  const base = edsCluster(clusterName(port.port, undefined, service.hostname), policy, edsPath);
  if (supportsPersistentSession(service))
    base.common_lb_config.override_host_status = { statuses: [HEALTHY, DRAINING, "UNKNOWN", "DEGRADED"] };
  const subsets = (destinationRule?.spec.subsets ?? []).map((subset) => {
    const name = clusterName(port.port, subset.name, service.hostname);
    // util.MergeSubsetTrafficPolicy: the subset's loadBalancer wins over the rule's (the only field translated).
    return { cluster: edsCluster(name, subset.trafficPolicy ?? policy, edsPath), labels: subset.labels ?? {} };
  });
  return { base, subsets };
}

// ---- routes (RDS) -----------------------------------------------------------------------------------------------

/**
 * Istio's default outbound retry policy (route/retry/retry.go DefaultPolicy, ConvertPolicy): 2 retries on
 * connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes with no status codes (503 was
 * dropped from the default in Istio 1.24, EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY), 5 host-selection attempts, and
 * the previous_hosts predicate (pilot/pkg/xds/filters/filters.go RetryPreviousHosts) so a retry goes to another
 * host. A VirtualService `retries` overrides it; attempts <= 0 means no retry policy.
 */
function retryPolicy(retries) {
  if (retries !== undefined && !(retries.attempts > 0)) return undefined;
  const policy = {
    num_retries: retries?.attempts ?? 2,
    retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
    host_selection_retry_max_attempts: 5,
    retry_host_predicate: [
      {
        name: "envoy.retry_host_predicates.previous_hosts",
        typed_config: { "@type": type("envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate") },
      },
    ],
  };
  if (retries === undefined) return policy;
  const known = ["attempts", "retryOn", "perTryTimeout", "retryIgnorePreviousHosts"];
  const unknown = Object.keys(retries).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new Error(`istiod model: retries.${unknown[0]} is not translated`);
  if (retries.retryOn) {
    // parseRetryOn: integers are status codes; "retriable-status-codes" is added when codes are given.
    const parts = retries.retryOn.split(",").map((p) => p.trim());
    const codes = parts.filter((p) => /^\d+$/.test(p)).map(Number);
    const conditions = parts.filter((p) => p && !/^\d+$/.test(p));
    if (codes.length > 0 && !conditions.includes("retriable-status-codes")) conditions.push("retriable-status-codes");
    policy.retry_on = conditions.join(",");
    if (codes.length > 0) policy.retriable_status_codes = codes;
  }
  if (retries.perTryTimeout) policy.per_try_timeout = retries.perTryTimeout;
  if (retries.retryIgnorePreviousHosts === false) delete policy.retry_host_predicate;
  return policy;
}

/** route.go translateHeaderMatch + util.go ConvertToEnvoyMatch. */
function stringMatch(match, what) {
  const kinds = Object.keys(match ?? {});
  if (kinds.length !== 1 || !["exact", "prefix", "regex"].includes(kinds[0]))
    throw new Error(`istiod model: ${what} match ${JSON.stringify(match)} is not translated`);
  return kinds[0] === "regex" ? { safe_regex: { regex: match.regex } } : { [kinds[0]]: match[kinds[0]] };
}

/** route.go translateHeaderMatch: an empty match (or regex "*") checks presence (canBeConvertedToPresentMatch). */
function headerMatcher(name, match) {
  const presence = Object.keys(match ?? {}).length === 0 || match.regex === "*";
  return presence ? { name, present_match: true } : { name, string_match: stringMatch(match, `header ${name}`) };
}

/** route.go TranslateRouteMatch, the WithoutHeaders loop: the header matcher inverted; a value match also treats a
 * missing header as empty (Envoy's present_match cannot be combined with that). */
function withoutHeaderMatcher(name, match) {
  const matcher = { ...headerMatcher(name, match), invert_match: true };
  return matcher.present_match ? matcher : { ...matcher, treat_missing_header_as_empty: true };
}

/** route.go TranslateRouteMatch: path prefix "/" unless uri is given; header matchers sorted by name. */
function routeMatch(match) {
  const out = { prefix: "/", case_sensitive: true };
  if (!match) return out;
  const known = ["name", "headers", "withoutHeaders", "uri", "ignoreUriCase"];
  const unknown = Object.keys(match).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new Error(`istiod model: match.${unknown[0]} is not translated`);
  if (match.uri) {
    delete out.prefix;
    const m = stringMatch(match.uri, "uri");
    if (m.exact !== undefined) out.path = m.exact;
    else if (m.prefix !== undefined) out.prefix = m.prefix;
    else out.safe_regex = m.safe_regex;
  }
  out.case_sensitive = !match.ignoreUriCase;
  const headers = [
    ...Object.entries(match.headers ?? {}).map(([name, m]) => headerMatcher(name, m)),
    ...Object.entries(match.withoutHeaders ?? {}).map(([name, m]) => withoutHeaderMatcher(name, m)),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (headers.length > 0) out.headers = headers;
  return out;
}

/** route.go IsCatchAllRoute. */
const isCatchAll = (route) => route.match.prefix === "/" && !route.match.headers;

/** route.go TranslateHeadersOperations: set/add become request_headers_to_add, remove drops pseudo-headers and host. */
function headerOperations(headers) {
  const unknown = Object.keys(headers ?? {}).filter((k) => k !== "request");
  if (unknown.length > 0) throw new Error(`istiod model: headers.${unknown[0]} is not translated`);
  const request = headers?.request ?? {};
  const out = {};
  const add = [
    ...Object.entries(request.set ?? {}).map(([key, value]) => ({
      header: { key, value },
      append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
    })),
    ...Object.entries(request.add ?? {}).map(([key, value]) => ({
      header: { key, value },
      append_action: "APPEND_IF_EXISTS_OR_ADD",
    })),
  ];
  if (add.length > 0) out.request_headers_to_add = add;
  const remove = (request.remove ?? []).filter((h) => !h.startsWith(":") && h.toLowerCase() !== "host");
  if (remove.length > 0) out.request_headers_to_remove = remove;
  return out;
}

/**
 * util.go MaybeBuildStatefulSessionFilterConfig: the Service label istio.io/persistent-session-header: H gives a
 * header session state named H (needs PILOT_ENABLE_PERSISTENT_SESSION_FILTER=true on istiod). Istio never sets
 * `strict`, so a session naming an absent or unusable host falls back to the cluster's load balancing.
 */
function statefulSessionPerRoute(service) {
  if (service?.labels[COOKIE_SESSION_LABEL]) throw new Error("istiod model: cookie sessions are not translated");
  const header = service?.labels[HEADER_SESSION_LABEL];
  if (!header) return undefined;
  return {
    "@type": type("envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute"),
    stateful_session: {
      session_state: {
        name: "envoy.http.stateful_session.header",
        typed_config: {
          "@type": type("envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState"),
          name: header,
        },
      },
    },
  };
}

/**
 * One Envoy route per VirtualService http[] entry and match[] alternative (route.go
 * BuildHTTPRoutesForVirtualService, TranslateRoute): name `<http.name>` or `<http.name>.<match.name>`, routes
 * after a catch-all are not emitted, timeout 0 (setTimeout), the retry policy, header operations, the config
 * metadata (util.BuildConfigInfoMetadata) and the destination service's stateful session.
 */
function virtualServiceRoutes(virtualService, lookupService, listenerPort) {
  const routes = [];
  const known = ["name", "match", "route", "headers", "retries", "timeout"];
  for (const http of virtualService.spec.http) {
    const unknown = Object.keys(http).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new Error(`istiod model: http.${unknown[0]} is not translated`);
    if (http.route.length !== 1) throw new Error("istiod model: weighted destinations are not translated");
    const extra = Object.keys(http.route[0]).filter((k) => k !== "destination");
    if (extra.length > 0) throw new Error(`istiod model: route[].${extra[0]} is not translated`);
    const { destination } = http.route[0];
    const host = destination.host.includes(".")
      ? destination.host
      : fqdn(destination.host, virtualService.metadata.namespace ?? "default");
    const service = lookupService(host);
    // route.go GetDestinationCluster: the destination port, else the service's only port, else the listener's.
    const port = destination.port?.number ?? (service?.ports.length === 1 ? service.ports[0].port : listenerPort);
    for (const match of http.match?.length ? http.match : [undefined]) {
      const route = {
        name: match?.name ? `${http.name ?? ""}.${match.name}` : (http.name ?? ""),
        match: routeMatch(match),
        route: {
          cluster: clusterName(port, destination.subset, host),
          timeout: http.timeout ?? "0s",
          max_grpc_timeout: http.timeout ?? "0s",
        },
        metadata: {
          filter_metadata: {
            istio: {
              config: `/apis/networking.istio.io/v1/namespaces/${virtualService.metadata.namespace ?? "default"}/virtual-service/${virtualService.metadata.name}`,
            },
          },
        },
        ...headerOperations(http.headers),
      };
      const retry = retryPolicy(http.retries);
      if (retry) route.route.retry_policy = retry;
      const session = statefulSessionPerRoute(service);
      if (session) route.typed_per_filter_config = { [SESSION_FILTER]: session };
      routes.push(route);
      if (isCatchAll(route)) return routes;
    }
  }
  return routes;
}

/** route.go BuildDefaultHTTPOutboundRoute: a service without a VirtualService. */
function defaultRoute(service, port) {
  return {
    name: "default",
    match: { prefix: "/", case_sensitive: true },
    route: {
      cluster: clusterName(port, undefined, service.hostname),
      timeout: "0s",
      max_grpc_timeout: "0s",
      retry_policy: retryPolicy(undefined),
    },
  };
}

/**
 * httproute.go generateVirtualHostDomains / GenerateAltVirtualHosts / generateAltVirtualHostsForKubernetesService
 * for a sidecar in `proxyNamespace` (SidecarIgnorePort: no `:port` forms, the route configuration ignores ports):
 * the FQDN, the absolute FQDN (PILOT_ENABLE_ABSOLUTE_FQDN_VHOST_DOMAIN, default on), and the short forms
 * Kubernetes DNS resolves from that namespace.
 */
function virtualHostDomains(hostname, proxyNamespace) {
  const [name, namespace] = hostname.split(".");
  const alternatives =
    namespace === proxyNamespace
      ? [name, `${name}.${namespace}.svc`, `${name}.${namespace}`]
      : [`${name}.${namespace}`, `${name}.${namespace}.svc`];
  return [hostname, `${hostname}.`, ...alternatives];
}

/**
 * The outbound route configuration of a port (httproute.go buildSidecarOutboundHTTPRouteConfig,
 * BuildSidecarOutboundVirtualHosts): named after the port, one virtual host `<host>:<port>` per service, sorted
 * by name (util.SortVirtualHosts), with the service's stateful session also per virtual host.
 */
function routeConfiguration(listenerPort, services, virtualServices, proxyNamespace) {
  const lookupService = (host) => services.find((s) => s.hostname === host);
  const virtualHosts = services.map((service) => {
    const vs = virtualServices.find((v) => v.spec.hosts.some((h) => h === service.hostname));
    const vhost = {
      name: `${service.hostname}:${listenerPort}`,
      domains: virtualHostDomains(service.hostname, proxyNamespace),
      routes: vs ? virtualServiceRoutes(vs, lookupService, listenerPort) : [defaultRoute(service, listenerPort)],
      include_request_attempt_count: true,
    };
    const session = statefulSessionPerRoute(service);
    if (session) vhost.typed_per_filter_config = { [SESSION_FILTER]: session };
    return vhost;
  });
  virtualHosts.sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    name: String(listenerPort),
    virtual_hosts: virtualHosts,
    validate_clusters: false,
    ignore_port_in_host_matching: true,
  };
}

// ---- EnvoyFilter ------------------------------------------------------------------------------------------------

/** pilot/pkg/networking/core/envoyfilter/rc_patch.go routeConfigurationMatch (sidecar): name and port number. */
function routeConfigurationMatches(match, routeConfig) {
  const unknown = Object.keys(match ?? {}).filter((k) => !["name", "portNumber", "vhost"].includes(k));
  if (unknown.length > 0) throw new Error(`istiod model: routeConfiguration.${unknown[0]} is not translated`);
  if (match?.name && match.name !== routeConfig.name) return false;
  return !match?.portNumber || match.portNumber === Number(routeConfig.name);
}

/** rc_patch.go virtualHostMatch and routeMatch: by name (no vhost or no route: every one). */
function routeMatches(vhostMatch, vhost, route) {
  if (!vhostMatch) return true;
  const unknown = Object.keys(vhostMatch).filter((k) => !["name", "route"].includes(k));
  if (unknown.length > 0) throw new Error(`istiod model: vhost.${unknown[0]} is not translated`);
  if (vhostMatch.name && vhostMatch.name !== vhost.name) return false;
  const routeMatch = vhostMatch.route;
  const unknownRoute = Object.keys(routeMatch ?? {}).filter((k) => k !== "name");
  if (unknownRoute.length > 0) throw new Error(`istiod model: vhost.route.${unknownRoute[0]} is not translated`);
  return !routeMatch?.name || routeMatch.name === route.name;
}

/**
 * A MERGE patch value into an Envoy route (envoyfilter/util.go mergePatchValue, pkg/proto/merge): messages merge field
 * by field, a map entry is replaced whole. Only the map typed_per_filter_config is translated.
 */
function mergeIntoRoute(route, value) {
  const unknown = Object.keys(value ?? {}).filter((k) => k !== "typed_per_filter_config");
  if (unknown.length > 0) throw new Error(`istiod model: an HTTP_ROUTE patch of ${unknown[0]} is not translated`);
  route.typed_per_filter_config = {
    ...route.typed_per_filter_config,
    ...structuredClone(value.typed_per_filter_config),
  };
}

/**
 * EnvoyFilter HTTP_ROUTE patches on a sidecar's outbound route configuration, applied after istiod built it
 * (httproute.go buildSidecarOutboundHTTPRouteConfig -> envoyfilter.ApplyRouteConfigurationPatches; rc_patch.go
 * patchHTTPRoute): context SIDECAR_OUTBOUND or ANY, operation MERGE. Only what the istio target renders is translated.
 */
function applyEnvoyFilters(routeConfig, envoyFilters) {
  for (const filter of envoyFilters) {
    const unknown = Object.keys(filter.spec).filter((k) => k !== "configPatches");
    if (unknown.length > 0) throw new Error(`istiod model: EnvoyFilter spec.${unknown[0]} is not translated`);
    for (const { applyTo, match, patch } of filter.spec.configPatches) {
      if (applyTo !== "HTTP_ROUTE") throw new Error(`istiod model: EnvoyFilter applyTo ${applyTo} is not translated`);
      if (patch.operation !== "MERGE")
        throw new Error(`istiod model: EnvoyFilter ${patch.operation} is not translated`);
      if (!["SIDECAR_OUTBOUND", "ANY", undefined].includes(match?.context)) continue;
      if (!routeConfigurationMatches(match?.routeConfiguration, routeConfig)) continue;
      for (const vhost of routeConfig.virtual_hosts)
        for (const route of vhost.routes)
          if (routeMatches(match?.routeConfiguration?.vhost, vhost, route)) mergeIntoRoute(route, patch.value);
    }
  }
}

// ---- listener and HTTP filters (LDS, ECDS) ----------------------------------------------------------------------

/** JSON with object keys sorted at every level, as istiod marshals a google.protobuf.Struct (protomarshal.ToJSON). */
function structJson(value) {
  if (Array.isArray(value)) return `[${value.map(structJson).join(",")}]`;
  if (value && typeof value === "object")
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${structJson(value[k])}`)
      .join(",")}}`;
  return JSON.stringify(value);
}

/** WasmPlugin match (pilot/pkg/model/extensions.go matchMode, matchPorts): CLIENT or unset, and the port. */
function wasmPluginApplies(plugin, listenerPort) {
  const match = plugin.spec.match ?? [];
  if (plugin.spec.selector || plugin.spec.targetRefs)
    throw new Error("istiod model: WasmPlugin selector/targetRefs are not translated");
  if (match.length === 0) return true;
  return match.some(
    (m) =>
      ["CLIENT", "CLIENT_AND_SERVER", "UNDEFINED", undefined].includes(m.mode) &&
      (!m.ports?.length || m.ports.some((p) => p.number === listenerPort)),
  );
}

const FAILURE_POLICIES = { FAIL_OPEN: "FAIL_OPEN", FAIL_CLOSE: "FAIL_CLOSED", FAIL_RELOAD: "FAIL_RELOAD" };

/**
 * A WasmPlugin as its HTTP filter (pilot/pkg/model/extensions.go buildWasmConfig, BuildHTTPWasmFilter;
 * extension/extensionfilter.go toEnvoyHTTPTrafficExtension; since Istio 1.30 every WasmPlugin runs as the
 * TrafficExtension `<name>~istio-translated-wasmplugin`, pilot/pkg/config/kube/extensions/translate.go): filter
 * name = the ECDS resource name, plugin name `<ns>.<name>`, root_id = pluginName, configuration = the
 * pluginConfig as a StringValue, V8, failure_policy from failStrategy (FAIL_CLOSE is the API's default).
 * istio-agent swaps the remote code for the downloaded file (pkg/wasm/convert.go rewriteVMConfig): the local
 * file here.
 */
function wasmFilter(plugin, wasmFile) {
  const name = `${plugin.metadata.name}~istio-translated-wasmplugin`;
  const namespace = plugin.metadata.namespace ?? "default";
  const config = {
    name: `${namespace}.${name}`,
    root_id: plugin.spec.pluginName,
    vm_config: { runtime: "envoy.wasm.runtime.v8", code: { local: { filename: wasmFile } } },
    failure_policy: FAILURE_POLICIES[plugin.spec.failStrategy ?? "FAIL_CLOSE"],
  };
  if (plugin.spec.pluginConfig && Object.keys(plugin.spec.pluginConfig).length > 0)
    config.configuration = {
      "@type": type("google.protobuf.StringValue"),
      value: structJson(plugin.spec.pluginConfig),
    };
  return {
    name: `extensions.istio.io/trafficextension/${namespace}.${name}`,
    typed_config: { "@type": type("envoy.extensions.filters.http.wasm.v3.Wasm"), config },
  };
}

/**
 * What istio-agent puts in a Wasm filter's place when it cannot fetch the module (pkg/wasm/convert.go
 * MaybeConvertWasmExtensionConfig, createHTTPDefaultFilter): an RBAC filter under the same name, allow-all (no
 * rules, stat prefix wasm-default-allow) when the failure policy is FAIL_OPEN (httpWasmFailOpen), else deny-all
 * (empty rules, stat prefix wasm-default-deny): FAIL_CLOSED and FAIL_RELOAD alike.
 */
function fetchFailedFilter(wasm) {
  const failOpen = wasm.typed_config.config.failure_policy === "FAIL_OPEN";
  const rbac = failOpen
    ? { rules_stat_prefix: "wasm-default-allow" }
    : { rules: {}, rules_stat_prefix: "wasm-default-deny" };
  return {
    name: wasm.name,
    typed_config: { "@type": type("envoy.extensions.filters.http.rbac.v3.RBAC"), ...rbac },
  };
}

const PHASES = ["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"];

/**
 * The outbound HTTP filter chain (listener_builder.go buildHTTPConnectionManager; configurations from
 * pilot/pkg/xds/filters/filters.go): WasmPlugins by phase AUTHN, AUTHZ, STATS, then UNSPECIFIED_PHASE (within a
 * phase by priority, higher first), then grpc_stats, fault, cors, the empty stateful_session filter that routes
 * override (PILOT_ENABLE_PERSISTENT_SESSION_FILTER), and the router last.
 */
function httpFilters(plugins, listenerPort, wasmFile, persistentSessionFilter, fetchFailed) {
  const wasm = PHASES.flatMap((phase) =>
    plugins
      .filter((p) => (p.spec.phase ?? "UNSPECIFIED_PHASE") === phase && wasmPluginApplies(p, listenerPort))
      .sort((a, b) => (b.spec.priority ?? 0) - (a.spec.priority ?? 0))
      .map((p) => wasmFilter(p, wasmFile))
      .map((filter) => (fetchFailed ? fetchFailedFilter(filter) : filter)),
  );
  return [
    ...wasm,
    {
      name: "envoy.filters.http.grpc_stats",
      typed_config: {
        "@type": type("envoy.extensions.filters.http.grpc_stats.v3.FilterConfig"),
        emit_filter_state: true,
        stats_for_all_methods: false,
      },
    },
    {
      name: "envoy.filters.http.fault",
      typed_config: { "@type": type("envoy.extensions.filters.http.fault.v3.HTTPFault") },
    },
    { name: "envoy.filters.http.cors", typed_config: { "@type": type("envoy.extensions.filters.http.cors.v3.Cors") } },
    ...(persistentSessionFilter
      ? [
          {
            name: SESSION_FILTER,
            typed_config: { "@type": type("envoy.extensions.filters.http.stateful_session.v3.StatefulSession") },
          },
        ]
      : []),
    {
      name: "envoy.filters.http.router",
      typed_config: { "@type": type("envoy.extensions.filters.http.router.v3.Router") },
    },
  ];
}

/**
 * The outbound listener of a port (listener.go buildSidecarOutboundHTTPListenerOpts, listener_builder.go
 * buildHTTPConnectionManager): stat prefix outbound_0.0.0.0_<port>, codec AUTO, path normalisation on with
 * escaped slashes kept, use_remote_address off, websocket upgrades, no stream idle timeout.
 */
function outboundListener(listenerPort, routeConfig, filters, accessLog) {
  return {
    name: `0.0.0.0_${listenerPort}`,
    address: { socket_address: { address: "127.0.0.1", port_value: listenerPort } },
    traffic_direction: "OUTBOUND",
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": type("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"),
              stat_prefix: `outbound_0.0.0.0_${listenerPort}`,
              codec_type: "AUTO",
              route_config: routeConfig,
              http_filters: filters,
              normalize_path: true,
              path_with_escaped_slashes_action: "KEEP_UNCHANGED",
              use_remote_address: false,
              upgrade_configs: [{ upgrade_type: "websocket" }],
              stream_idle_timeout: "0s",
              ...(accessLog ? { access_log: [accessLog] } : {}),
            },
          },
        ],
      },
    ],
  };
}

// ---- the sidecar ------------------------------------------------------------------------------------------------

/** The file an EDS cluster reads: one ClusterLoadAssignment per file (EDS takes exactly one resource). */
function edsFile(edsDir, name) {
  return path.join(edsDir, `${name.replace(/[^A-Za-z0-9.-]/g, "_")}.yaml`);
}

/** The discovery response text Envoy's file-based EDS reads. */
export const edsFileText = (assignment) =>
  JSON.stringify({ version_info: String(Date.now()), resources: [assignment] });

/**
 * EDS of every cluster from the pods as they are now (pods may differ from the ones the manifests were rendered
 * from: that is how a test makes a catalog pod unhealthy or removes it).
 */
export function loadAssignments(sidecar, podsText) {
  const pods = podItems(podsText);
  const out = new Map();
  for (const { service, port, base, subsets } of sidecar.clusters) {
    const endpoints = serviceEndpoints(service, port, pods);
    out.set(base.name, loadAssignment(base.name, endpoints));
    for (const { cluster, labels } of subsets) {
      // endpoint_builder.go BuildClusterLoadAssignment: a subset's endpoints are those whose labels hold its labels.
      const members = endpoints.filter((ep) => Object.entries(labels).every(([k, v]) => ep.labels[k] === v));
      out.set(cluster.name, loadAssignment(cluster.name, members));
    }
  }
  return out;
}

/** See the top of this file. */
export function istiodSidecar(
  { manifests, pods, services = "" },
  {
    wasm,
    edsDir,
    listenerPort = 8000,
    accessLog,
    proxyNamespace = "default",
    persistentSessionFilter = true,
    fetchFailed = false,
  },
) {
  const docs = documents(manifests);
  const of = (kind) => docs.filter((d) => d.kind === kind);
  // The rendered Service (it carries the session label) wins over the same Service given again in `services`.
  const registry = [...of("Service"), ...documents(services).filter((d) => d.kind === "Service")]
    .map(registryService)
    .filter((s, i, all) => all.findIndex((o) => o.hostname === s.hostname) === i);
  const clusters = registry.flatMap((service) =>
    service.ports
      .filter((port) => port.port === listenerPort && isHttpPort(port))
      .map((port) => {
        const rule = of("DestinationRule").find((dr) => dr.spec.host === service.hostname);
        return { service, port, ...serviceClusters(service, port, rule, (name) => edsFile(edsDir, name)) };
      }),
  );
  const routeConfig = routeConfiguration(
    listenerPort,
    clusters.map((c) => c.service),
    of("VirtualService"),
    proxyNamespace,
  );
  applyEnvoyFilters(routeConfig, of("EnvoyFilter"));
  const filters = httpFilters(of("WasmPlugin"), listenerPort, wasm, persistentSessionFilter, fetchFailed);
  const bootstrap = {
    node: { id: `sidecar~127.0.0.33~sleep.${proxyNamespace}~${proxyNamespace}.${DNS_SUFFIX}`, cluster: "sleep" },
    static_resources: {
      listeners: [outboundListener(listenerPort, routeConfig, filters, accessLog)],
      clusters: clusters.flatMap((c) => [c.base, ...c.subsets.map((s) => s.cluster)]),
    },
  };
  const sidecar = { bootstrap, clusters, edsPath: (name) => edsFile(edsDir, name) };
  sidecar.loadAssignments = loadAssignments(sidecar, pods);
  return sidecar;
}
