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
//      balancing (Istio never sets `strict`);
//   5. the cluster's hosts: the Service's ready endpoints, narrowed to the DestinationRule subset's labels; none
//      -> 503 "no healthy upstream" (istiod also sends unready endpoints, as UNHEALTHY, and a healthy panic
//      threshold of 0, so they are never picked);
//   6. the router removes the route's headers.request.remove before the request leaves.
// Retries are not modelled (the pods always answer). Only the match conditions the rendered files use are
// modelled (headers exact/prefix, uri exact/prefix); any other condition throws, so the model never guesses.

import { parseAllDocuments } from "yaml";
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

function matches(m, headers, individually) {
  for (const key of Object.keys(m))
    if (!["name", "headers", "uri"].includes(key)) throw new Error(`model: unsupported match field ${key}`);
  if (m.uri && !matchValue(m.uri, headers.get(":path")?.[0], "uri")) return false;
  return Object.entries(m.headers ?? {}).every(([name, cond]) =>
    matchHeader(cond, headers.get(name.toLowerCase()) ?? [], name, individually),
  );
}

export class IstioSidecar {
  /**
   * @param renderedText the istio target's output; podsText `kubectl get pods -o json`; serviceText the Service manifest
   * @param options.matchHeadersIndividually Envoy >= 1.39's header matching (default: true, the newest pinned Envoy)
   */
  constructor(renderedText, podsText, serviceText, { matchHeadersIndividually = true } = {}) {
    this.matchHeadersIndividually = matchHeadersIndividually;
    const docs = parseAllDocuments(renderedText).map((d) => d.toJS());
    const one = (kind) => docs.find((d) => d.kind === kind);
    this.pluginConfig = one("WasmPlugin").spec.pluginConfig;
    this.virtualService = one("VirtualService");
    this.destinationRule = one("DestinationRule");
    const service = parseService(serviceText, "service");
    this.sessionHeader = (one("Service") ?? service.document).metadata.labels?.[SESSION_LABEL];
    const port = this.virtualService.spec.http.at(-1).route[0].destination.port.number;
    this.endpoints = servingEndpoints(parsePods(podsText, "pods"), service, {
      name: service.name,
      namespace: service.namespace,
      destinationPort: port,
    }).endpoints;
  }

  /** Envoy's route table for the VirtualService: [{name, match, http}] in order. */
  routes() {
    return this.virtualService.spec.http.flatMap((http) =>
      (http.match?.length ? http.match : [{}]).map((m) => ({
        name: m.name ? `${http.name}.${m.name}` : (http.name ?? ""),
        match: m,
        http,
      })),
    );
  }

  /** @param headers Map lower-case name -> [values] */
  route(headers) {
    return this.routes().find((r) => matches(r.match, headers, this.matchHeadersIndividually));
  }

  cluster(route) {
    const { destination } = route.http.route[0];
    if (route.http.route.length !== 1) throw new Error("model: weighted routes are not modelled");
    return {
      name: `outbound|${destination.port.number}|${destination.subset ?? ""}|${destination.host}`,
      subset: destination.subset,
    };
  }

  hosts(subsetName) {
    if (subsetName === undefined) return this.endpoints;
    const subset = this.destinationRule.spec.subsets.find((s) => s.name === subsetName);
    if (!subset)
      throw new Error(`VirtualService names subset ${subsetName}, which the DestinationRule does not define`);
    return this.endpoints.filter((ep) => Object.entries(subset.labels).every(([k, v]) => ep.labels[k] === v));
  }

  /**
   * One request from a client pod. `runFilter(routeName, clusterName, headerPairs)` runs the wasm filter and returns
   * {localResponse, headers (pairs after the filter), routeCacheCleared} (see emulatedFilter).
   * Returns {status, body, route, cluster} for a local answer or a 503 of Envoy's, else {status: 200, pods: [ip...]
   * the request can reach, answers, route, cluster, upstreamHeaders}.
   */
  request(clientHeaders, runFilter) {
    const pairs = [
      [":method", "GET"],
      [":path", "/"],
      [":authority", "helloworld:8000"],
      ...clientHeaders.map(([k, v]) => [k.toLowerCase(), v]),
    ];
    const first = this.route(headerValues(pairs));
    if (!first) return { status: 404, body: "" };
    const filtered = runFilter(first.name, this.cluster(first).name, pairs);
    if (filtered.localResponse)
      return {
        status: filtered.localResponse.status,
        body: filtered.localResponse.body,
        details: filtered.localResponse.details,
        route: first.name,
        cluster: this.cluster(first).name,
      };
    const headers = headerValues(filtered.headers);
    const route = filtered.routeCacheCleared ? this.route(headers) : first;
    if (!route) return { status: 404, body: "" };
    const cluster = this.cluster(route);
    let hosts = this.hosts(cluster.subset);
    const session = this.sessionHeader ? headers.get(this.sessionHeader)?.[0] : undefined;
    if (session !== undefined) {
      const address = Buffer.from(session, "base64").toString("latin1");
      const pinned = hosts.filter((ep) => endpointAddress(ep.ip, ep.port) === address);
      if (pinned.length > 0) hosts = pinned;
    }
    if (hosts.length === 0)
      return { status: 503, body: "no healthy upstream", route: route.name, cluster: cluster.name };
    const removed = new Set((route.http.headers?.request?.remove ?? []).map((h) => h.toLowerCase()));
    const upstreamHeaders = filtered.headers.filter(([k]) => !removed.has(k));
    return {
      status: 200,
      pods: hosts.map((ep) => ep.ip).sort(),
      answers: hosts.map(answer),
      route: route.name,
      cluster: cluster.name,
      upstreamHeaders,
    };
  }
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
    s.complete();
    return out;
  };
}

/** What the seed's hashicorp/http-echo pod answers. */
export function answer(ep) {
  return `Welcome to helloworld stage: ${ep.labels.stage}, version: ${ep.labels.version}, ip: ${ep.ip}`;
}
