// A model of an Istio sidecar (Envoy) serving the istio target's output, for the fast end-to-end tests
// (test/e2e/mesh.test.mjs, equivalence.test.mjs). Real Envoy runs the same manifests in
// test/real-envoy/catalog.test.mjs and differential.test.mjs, which check this model against it.
//
// It follows Envoy's order for an outbound HTTP request (docs/istio.md; Istio's route.go, listener_builder.go):
//   1. route match on the client's headers: VirtualService http[] top down, first match wins; a route's match[]
//      entries are alternatives (Istio makes one Envoy route per entry, named <http.name>[.<match.name>]). A header
//      sent several times matches by any one of its values on Envoy >= 1.39 (runtime guard
//      envoy.reloadable_features.match_headers_individually), by the values joined with "," before;
//   2. the wasm filter runs with xds.route_name / xds.cluster_name of that route (cluster
//      outbound|<port>|<subset>|<host>): it may answer locally (503), rewrite headers, call clear_route_cache;
//   3. when the filter changed any request header or called clear_route_cache, the route is matched again on the
//      rewritten headers (a module of ABI 0.2.1 clears Envoy's route cache with every request-header change: seen
//      in Envoy 1.36.2 and 1.40.0; the emulator reports it as routeCacheCleared);
//   4. stateful_session (after every wasm filter): when the Service is labelled
//      istio.io/persistent-session-header: H and the request carries H = base64("ip:port"), the host with that
//      address is picked if it is a healthy host of the route's cluster; otherwise the cluster's normal load
//      balancing (Istio never sets `strict`), or 503 "no healthy upstream" on a route an EnvoyFilter HTTP_ROUTE MERGE
//      gives a strict session (the istio target's pin routes; seen in Envoy 1.36.2 and 1.40.0);
//   5. the cluster's hosts: the Service's ready endpoints, narrowed to the DestinationRule subset's labels; none
//      -> 503 "no healthy upstream" (istiod also sends unready endpoints, as UNHEALTHY, and a healthy panic
//      threshold of 0, so they are never picked);
//   6. the router removes the route's headers.request.remove before the request leaves.
// Retries are not modelled (the pods always answer). Only the match conditions the rendered files use are
// modelled (headers exact/prefix, withoutHeaders with an empty match = header absent, uri exact/prefix); any other
// condition throws, so the model never guesses.

import { parseAllDocuments, stringify } from "yaml";
import { parsePods, parseService, servingEndpoints } from "../../dist/k8s/pods.js";
import { endpointAddress } from "../../dist/k8s/catalog.js";

const SESSION_LABEL = "istio.io/persistent-session-header";

function matchValue(cond, value, what) {
  if (value === undefined) return false;
  const kinds = Object.keys(cond);
  if (kinds.length !== 1 || !["exact", "prefix"].includes(kinds[0]))
    throw new Error(`model: unsupported ${what} match ${JSON.stringify(cond)}`);
  return kinds[0] === "exact" ? value === cond.exact : value.startsWith(cond.prefix);
}

/** Envoy's route header matcher on a request header's values (see step 1 above). */
function matchHeader(cond, values, name, individually) {
  if (values.length === 0) return matchValue(cond, undefined, `header ${name}`);
  if (individually) return values.some((v) => matchValue(cond, v, `header ${name}`));
  return matchValue(cond, values.join(","), `header ${name}`);
}

/** withoutHeaders {name: {}}: Istio's inverted present_match (route.go TranslateRouteMatch), the header is absent. */
function isAbsent(cond, values, name) {
  if (Object.keys(cond).length > 0) throw new Error(`model: unsupported withoutHeaders match ${name}`);
  return values.length === 0;
}

function matches(m, headers, individually) {
  for (const key of Object.keys(m))
    if (!["name", "headers", "withoutHeaders", "uri"].includes(key))
      throw new Error(`model: unsupported match field ${key}`);
  const values = (name) => headers.get(name.toLowerCase()) ?? [];
  if (m.uri && !matchValue(m.uri, headers.get(":path")?.[0], "uri")) return false;
  return (
    Object.entries(m.headers ?? {}).every(([name, cond]) => matchHeader(cond, values(name), name, individually)) &&
    Object.entries(m.withoutHeaders ?? {}).every(([name, cond]) => isAbsent(cond, values(name), name))
  );
}

/** The names a client in the service's namespace reaches it by (Istio's virtual host domains, ports ignored). */
function domains(service) {
  const host = `${service.name}.${service.namespace}.svc.cluster.local`;
  return [
    host,
    `${host}.`,
    service.name,
    `${service.name}.${service.namespace}`,
    `${service.name}.${service.namespace}.svc`,
  ];
}

const HTTP_PORT_NAME = /^(http|http2|grpc)(-|$)/;

export class IstioSidecar {
  /**
   * @param renderedText the istio target's output; podsText `kubectl get pods -o json`; serviceText the Service
   *   manifest(s): every Service of it has a virtual host (its default route when no VirtualService names it)
   * @param options.matchHeadersIndividually Envoy >= 1.39's header matching (default: true, the newest pinned Envoy)
   */
  constructor(renderedText, podsText, serviceText, { matchHeadersIndividually = true } = {}) {
    this.matchHeadersIndividually = matchHeadersIndividually;
    const docs = parseAllDocuments(renderedText)
      .map((d) => d.toJS())
      .filter(Boolean);
    const all = (kind) => docs.filter((d) => d.kind === kind);
    this.pluginConfig = all("WasmPlugin")[0].spec.pluginConfig;
    this.virtualService = all("VirtualService")[0];
    this.destinationRules = all("DestinationRule");
    // The rendered Service (it carries the session label) wins over the same Service in serviceText.
    const given = parseAllDocuments(serviceText)
      .map((d) => d.toJS())
      .filter((d) => d?.kind === "Service");
    const services = [...all("Service"), ...given].filter(
      (d, i, list) =>
        list.findIndex((o) => o.metadata.name === d.metadata.name && o.metadata.namespace === d.metadata.namespace) ===
        i,
    );
    // The listener of the VirtualService's port: its route configuration has the Services with an HTTP port there.
    const { destination } = this.virtualService.spec.http.at(-1).route[0];
    this.port = destination.port.number;
    this.services = services
      .filter((doc) => doc.spec.ports.some((p) => p.port === this.port && HTTP_PORT_NAME.test(p.name ?? "")))
      .map((doc) => {
        const info = parseService(stringify(doc), "service");
        return {
          info,
          host: `${info.name}.${info.namespace}.svc.cluster.local`,
          sessionHeader: doc.metadata.labels?.[SESSION_LABEL],
        };
      });
    this.pods = parsePods(podsText, "pods");
    this.sessionHeader = this.service(destination.host)?.sessionHeader;
    this.strictSessions = strictSessionRoutes(all("EnvoyFilter"));
  }

  service(host) {
    return this.services.find((s) => s.host === host);
  }

  /** The routes of the virtual host the authority names (none given: the VirtualService's): [{name, match, http}]. */
  routes(authority) {
    const name = authority?.replace(/:\d+$/, "");
    const service = name === undefined ? undefined : this.services.find((s) => domains(s.info).includes(name));
    const vs = this.virtualService;
    // No virtual host for that name: no route (istiod's catch-all allow_any would pass it to its own address).
    if (name !== undefined && service === undefined) return [];
    if (service === undefined || vs.spec.hosts.includes(service.host))
      return vs.spec.http.flatMap((http) =>
        (http.match?.length ? http.match : [{}]).map((m) => ({
          name: m.name ? `${http.name ?? ""}.${m.name}` : (http.name ?? ""),
          match: m,
          http,
        })),
      );
    // istiod's default route for a service without a VirtualService (route.go BuildDefaultHTTPOutboundRoute).
    const http = { route: [{ destination: { host: service.host, port: { number: this.port } } }] };
    return [{ name: "default", match: {}, http }];
  }

  /** @param headers Map lower-case name -> [values] */
  route(headers) {
    const authority = headers.get(":authority")?.[0];
    return this.routes(authority).find((r) => matches(r.match, headers, this.matchHeadersIndividually));
  }

  cluster(route) {
    const { destination } = route.http.route[0];
    if (route.http.route.length !== 1) throw new Error("model: weighted routes are not modelled");
    return {
      name: `outbound|${destination.port.number}|${destination.subset ?? ""}|${destination.host}`,
      host: destination.host,
      port: destination.port.number,
      subset: destination.subset,
    };
  }

  /** The ready endpoints of a service (default: the VirtualService's), narrowed to a DestinationRule subset. */
  hosts(subsetName, host = this.virtualService.spec.http.at(-1).route[0].destination.host, port) {
    const service = this.service(host);
    if (!service) throw new Error(`model: no Service for ${host}`);
    const endpoints = servingEndpoints(this.pods, service.info, {
      name: service.info.name,
      namespace: service.info.namespace,
      destinationPort: port ?? this.port,
    }).endpoints;
    if (subsetName === undefined) return endpoints;
    const subset = this.destinationRules
      .find((dr) => dr.spec.host === host)
      ?.spec.subsets?.find((s) => s.name === subsetName);
    if (!subset)
      throw new Error(`VirtualService names subset ${subsetName}, which the DestinationRule does not define`);
    return endpoints.filter((ep) => Object.entries(subset.labels).every(([k, v]) => ep.labels[k] === v));
  }

  /**
   * One request from a client pod (a `host` header becomes :authority; default helloworld:8000, path /).
   * `runFilter(routeName, clusterName, headerPairs)` runs the wasm filter and returns {localResponse, headers (pairs
   * after the filter), routeCacheCleared} (see emulatedFilter), kept as `filter` in the result.
   * Returns {status, body, route, cluster, filter} for a local answer or a 503 of Envoy's, else {status: 200,
   * pods: [ip...] the request can reach, answers, route, cluster, upstreamHeaders, filter}.
   */
  request(clientHeaders, runFilter, { path = "/" } = {}) {
    const lower = clientHeaders.map(([k, v]) => [k.toLowerCase(), v]);
    const authority = lower.find(([k]) => k === "host")?.[1] ?? "helloworld:8000";
    const pairs = [
      [":method", "GET"],
      [":path", path],
      [":authority", authority],
      ...lower.filter(([k]) => k !== "host"),
    ];
    const first = this.route(headerValues(pairs));
    if (!first) return { status: 404, body: "" };
    const filter = runFilter(first.name, this.cluster(first).name, pairs);
    const headers = headerValues(filter.headers);
    const route = filter.routeCacheCleared ? this.route(headers) : first;
    if (filter.localResponse) {
      // The filter's own reply: Envoy's access log names the route as matched again after the filter's header
      // changes (seen in Envoy 1.36.2 and 1.40.0 for a request a client steered onto a generated route).
      const logged = route ?? first;
      return {
        status: filter.localResponse.status,
        body: filter.localResponse.body,
        details: filter.localResponse.details,
        route: logged.name,
        cluster: this.cluster(logged).name,
        filter,
      };
    }
    if (!route) return { status: 404, body: "", filter };
    const cluster = this.cluster(route);
    let hosts = this.hosts(cluster.subset, cluster.host, cluster.port);
    const sessionHeader = this.service(cluster.host)?.sessionHeader;
    const session = sessionHeader ? headers.get(sessionHeader)?.[0] : undefined;
    if (session !== undefined) {
      const address = Buffer.from(session, "base64").toString("latin1");
      const pinned = hosts.filter((ep) => endpointAddress(ep.ip, ep.port) === address);
      const strict = this.strictSessions.has(`${cluster.host}:${cluster.port}\0${route.name}`);
      if (pinned.length > 0 || strict) hosts = pinned;
    }
    if (hosts.length === 0)
      return { status: 503, body: "no healthy upstream", route: route.name, cluster: cluster.name, filter };
    const removed = new Set((route.http.headers?.request?.remove ?? []).map((h) => h.toLowerCase()));
    const upstreamHeaders = filter.headers.filter(([k]) => !removed.has(k));
    return {
      status: 200,
      pods: hosts.map((ep) => ep.ip).sort(),
      answers: hosts.map(answer),
      route: route.name,
      cluster: cluster.name,
      upstreamHeaders,
      filter,
    };
  }
}

/**
 * The routes ("<virtual host>\0<route name>") whose stateful session an EnvoyFilter makes strict: HTTP_ROUTE MERGE
 * patches naming both (the only form the istio target renders; anything else throws).
 */
function strictSessionRoutes(envoyFilters) {
  const out = new Set();
  for (const filter of envoyFilters) {
    for (const { applyTo, match, patch } of filter.spec.configPatches) {
      const vhost = match?.routeConfiguration?.vhost;
      if (applyTo !== "HTTP_ROUTE" || patch.operation !== "MERGE" || !vhost?.name || !vhost.route?.name)
        throw new Error(`model: unsupported EnvoyFilter patch ${JSON.stringify({ applyTo, match })}`);
      const session = patch.value.typed_per_filter_config?.["envoy.filters.http.stateful_session"]?.stateful_session;
      if (session?.strict) out.add(`${vhost.name}\0${vhost.route.name}`);
    }
  }
  return out;
}

/** Header pairs -> Map lower-case name -> values in order. */
function headerValues(pairs) {
  const m = new Map();
  for (const [k, v] of pairs) {
    const name = k.toLowerCase();
    if (!m.has(name)) m.set(name, []);
    m.get(name).push(v);
  }
  return m;
}

/**
 * The runFilter of IstioSidecar.request for a started emulator host (emulator/index.mjs) running the filter: one
 * stream per call, with what the filter decided and whether Envoy would match the route again.
 */
export function emulatedFilter(host) {
  return (routeName, clusterName, pairs) => {
    const s = host.newStream({ properties: { "xds.route_name": routeName, "xds.cluster_name": clusterName } });
    s.requestHeaders(pairs, { endOfStream: true });
    const out = {
      localResponse: s.localResponse,
      headers: s.requestHeaderMap,
      routeCacheCleared: s.routeCacheCleared,
      decision: s.filterState.get("wasm.dynamic_subset"),
    };
    // The answer passes the filter on its way back (a reply of the filter's own is not replayed, see emulator/).
    if (!s.localResponse) s.responseHeaders([[":status", "200"]]);
    out.responseHeaders = s.localResponse ? s.localResponse.headers : s.responseHeaderMap;
    s.complete();
    return out;
  };
}

/** What the seed's hashicorp/http-echo pod answers. */
export function answer(ep) {
  return `Welcome to helloworld stage: ${ep.labels.stage}, version: ${ep.labels.version}, ip: ${ep.ip}`;
}
