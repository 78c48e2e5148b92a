// The configurations of the Envoy benchmark: one Envoy bootstrap each, all serving the same request from the same
// pods, so that every one routes it to the same pod (the target) and only the filter chain differs.
//
//   PODS, TARGET, REQUEST        the pods (seed step 2's six, on 127.0.1.x), the pod every timed request must
//                                reach, and the request (headers every configuration reads or ignores)
//   CATALOG_ROUTE_TOKEN          the route token of the catalog-mode configurations
//   upstreamBootstrap()          the upstream Envoy: one direct_response listener per pod, answering with its
//                                identity in the x-pod header
//   benchConfigs(ports, modules) -> Promise<{ main: [{ id, label, group, bootstrap }], ... }>
//   filterOnFloor(...)           the floor plus the filter with a given plugin configuration (memory, LDS)
//   routerFilter, wasmFilter, listener, virtualHost: the building blocks, also used by route-cache.mjs

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderCatalog, renderMetadata } from "./render.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SEED = path.join(ROOT, "examples/helloworld");
export const HOST = "helloworld.default.svc.cluster.local";
const SHORT_HOST = "helloworld";
const NAMESPACE = "default";
const SERVICE_PORT = 8000;

/** The six labels besides stage and version that the eight-key configuration maps. */
const SIX_MORE = {
  region: "region-2",
  zone: "zone-3",
  tenant: "tenant-4",
  track: "track-5",
  build: "build-6",
  shard: "shard-7",
};
const EIGHT_KEYS = ["stage", "version", ...Object.keys(SIX_MORE)];

/** Seed step 2's pods on 127.0.1.x (same last octets as the seed's 192.168.0.x). dev/v1 is the target. */
export const TARGET = "127.0.1.5";
export const PODS = [
  { address: TARGET, labels: { app: "helloworld", stage: "dev", version: "v1", ...SIX_MORE } },
  { address: "127.0.1.1", labels: { app: "helloworld", stage: "dev", version: "v2" } },
  { address: "127.0.1.252", labels: { app: "helloworld", stage: "dev", version: "v3" } },
  { address: "127.0.1.103", labels: { app: "helloworld", stage: "prod", version: "v2" } },
  { address: "127.0.1.104", labels: { app: "helloworld", stage: "prod", version: "v3" } },
  { address: "127.0.1.6", labels: { app: "helloworld", stage: "prod", version: "v3" } },
];
export const podListener = (address) => `pod-${address}`;

/**
 * The one request every configuration serves: ordinary headers, the seed's x-stage/x-version (dev/v1), the six
 * other keys of the eight-key configuration and x-ip, all naming the target pod. A configuration reads the
 * headers it maps and ignores the rest, so every one parses the same bytes.
 */
export const REQUEST = {
  host: SHORT_HOST,
  "user-agent": "bench-envoy/1",
  accept: "*/*",
  "x-request-id": "0f8fad5b-d9cb-469f-a165-70867728950e",
  "x-stage": "dev",
  "x-version": "v1",
  ...Object.fromEntries(Object.entries(SIX_MORE).map(([k, v]) => [`x-${k}`, v])),
  "x-ip": TARGET,
};

const typed = (type, body = {}) => ({ "@type": `type.googleapis.com/${type}`, ...body });

export const routerFilter = () => ({
  name: "envoy.filters.http.router",
  typed_config: typed("envoy.extensions.filters.http.router.v3.Router"),
});

/** A wasm HTTP filter running `file` under V8 (the filter's own module takes `configuration` as JSON). */
export function wasmFilter(file, rootId, configuration) {
  const config = {
    name: rootId,
    root_id: rootId,
    vm_config: { vm_id: rootId, runtime: "envoy.wasm.runtime.v8", code: { local: { filename: file } } },
  };
  if (configuration !== undefined)
    config.configuration = typed("google.protobuf.StringValue", { value: JSON.stringify(configuration) });
  return {
    name: "envoy.filters.http.wasm",
    typed_config: typed("envoy.extensions.filters.http.wasm.v3.Wasm", { config }),
  };
}

export const virtualHost = (routes) => ({
  name: "bench",
  virtual_hosts: [{ name: SHORT_HOST, domains: [SHORT_HOST], routes }],
});

/** A listener on 127.0.0.1 (startEnvoy picks the port) with one HTTP connection manager; no access log. */
export function listener(name, routeConfig, httpFilters, port = 0) {
  const hcm = typed("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", {
    stat_prefix: name,
    route_config: routeConfig,
    http_filters: httpFilters,
  });
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: port } },
    filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }] }],
  };
}

const bootstrap = (routeConfig, httpFilters, clusters) => ({
  admin: {},
  static_resources: { listeners: [listener("bench", routeConfig, httpFilters)], clusters },
});

function staticCluster(name, endpoints) {
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: endpoints.map(({ address, port }) => ({
            endpoint: { address: { socket_address: { address, port_value: port } } },
          })),
        },
      ],
    },
  };
}

// ------------------------------------------------------------------ the upstream

const welcome = ({ stage, version }, ip) => `Welcome to helloworld stage: ${stage}, version: ${version}, ip: ${ip}\n`;

/** One listener per pod, each on the pod's own address, answering 200 with the seed's text and `x-pod: <address>`. */
export function upstreamBootstrap() {
  return {
    admin: {},
    static_resources: {
      listeners: PODS.map((pod) => ({
        ...listener(
          podListener(pod.address),
          virtualHost([
            {
              match: { prefix: "/" },
              direct_response: { status: 200, body: { inline_string: welcome(pod.labels, pod.address) } },
              response_headers_to_add: [{ header: { key: "x-pod", value: pod.address } }],
            },
          ]),
          [routerFilter()],
        ),
        address: { socket_address: { address: pod.address, port_value: 0 } },
      })),
      clusters: [],
    },
  };
}

// ------------------------------------------------------------------ the configurations

const seedSources = (...files) =>
  files.map((f) => ({ file: `examples/helloworld/${f}`, text: readFileSync(path.join(SEED, f), "utf8") }));

function eightKeySources() {
  const text = `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: helloworld, namespace: ${NAMESPACE}}
spec:
  host: ${HOST}
  trafficPolicy:
    loadBalancer:
      dynamicSubset:
        subsetSelectors:
        - keys: [stage, version]
        - keys: [${EIGHT_KEYS.join(", ")}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld, namespace: ${NAMESPACE}}
spec:
  hosts: [${HOST}]
  http:
  - name: default
    headerToDynamicSubsetKey:
${EIGHT_KEYS.map((k) => `    - {header: x-${k}, key: ${k}}`).join("\n")}
    route:
    - destination: {host: ${HOST}, port: {number: ${SERVICE_PORT}}}
`;
  return [{ file: "bench/envoy eight keys", text }];
}

/** The seed's step 3 mapping as Envoy's own header_to_metadata rules: a missing header gives the default value. */
function nativeHeaderToMetadata(mappings) {
  const entry = (key, extra = {}) => ({ metadata_namespace: "envoy.lb", key, type: "STRING", ...extra });
  return {
    name: "envoy.filters.http.header_to_metadata",
    typed_config: typed("envoy.extensions.filters.http.header_to_metadata.v3.Config", {
      request_rules: mappings.map(({ header, key, defaultValue }) => ({
        header,
        on_header_present: entry(key),
        on_header_missing: entry(key, { value: defaultValue }),
      })),
    }),
  };
}

/** The same filter chain with another module in the wasm filter (the C reference reads the same configuration). */
function withModule(httpFilters, file) {
  const filters = structuredClone(httpFilters);
  filters.find((f) => f.name === "envoy.filters.http.wasm").typed_config.config.vm_config.code.local.filename = file;
  return filters;
}

/** Catalog mode: 40 stages x 25 versions = 1,000 label tuples, one pod each (only the target's is reachable). */
const CATALOG_STAGES = [
  ...Array.from({ length: 19 }, (_, i) => `canary-${String(i + 1).padStart(2, "0")}`),
  "dev",
  "prod",
  ...Array.from({ length: 19 }, (_, i) => `qa-${String(i + 1).padStart(2, "0")}`),
];
const CATALOG_VERSIONS = Array.from({ length: 25 }, (_, i) => `v${i + 1}`);
export const CATALOG_ROUTE_TOKEN = "9f3c1a7e52d04b68";

/** `kubectl get pods -o json` for the catalog: the (dev, v1) pod is the target, the others never receive traffic. */
function catalogPods(targetPort) {
  const items = [];
  for (const stage of CATALOG_STAGES)
    for (const version of CATALOG_VERSIONS) {
      const i = items.length;
      const ip = stage === "dev" && version === "v1" ? TARGET : `127.2.${Math.floor(i / 200)}.${(i % 200) + 10}`;
      items.push({
        kind: "Pod",
        metadata: {
          name: `helloworld-${stage}-${version}`,
          namespace: NAMESPACE,
          labels: { app: "helloworld", stage, version },
        },
        spec: { containers: [{ name: "helloworld", ports: [{ containerPort: targetPort }] }] },
        status: { phase: "Running", podIP: ip, conditions: [{ type: "Ready", status: "True" }] },
      });
    }
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

/** istiod's header matchers for one match entry: headers exact, withoutHeaders {} as an inverted present_match. */
function headerMatchers(match = {}) {
  return [
    ...Object.entries(match.headers ?? {}).map(([name, m]) => ({ name, string_match: { exact: m.exact } })),
    ...Object.keys(match.withoutHeaders ?? {}).map((name) => ({ name, present_match: true, invert_match: true })),
  ];
}

/**
 * What istiod makes of the rendered VirtualService and DestinationRule, reduced to what routing needs: the
 * routes in order (the user's route without the subset header, the generated subset routes matching it, the user's
 * route again; each with the removal of that header), one cluster per subset `outbound|<port>|<subset>|<host>` and
 * the service's `outbound|<port>||<host>`.
 */
function catalogEnvoy(rendered, pods) {
  const cluster = (subset = "") => `outbound|${SERVICE_PORT}|${subset}|${HOST}`;
  const routes = rendered.virtualService.spec.http.map((http) => {
    const headers = headerMatchers(http.match?.[0]);
    const route = { name: http.name, match: { prefix: "/", ...(headers.length > 0 ? { headers } : {}) } };
    route.route = { cluster: cluster(http.route[0].destination.subset) };
    const remove = http.headers?.request?.remove;
    if (remove) route.request_headers_to_remove = remove;
    return route;
  });
  const matches = (labels) => (pod) => Object.entries(labels).every(([k, v]) => pod.labels[k] === v);
  const clusters = [
    staticCluster(cluster(), pods),
    ...rendered.destinationRule.spec.subsets.map((s) => staticCluster(cluster(s.name), pods.filter(matches(s.labels)))),
  ];
  return { routes, clusters };
}

/** Positions (1-based) of the route an ordinary request first matches and of its subset's route. */
function routeNote(routes) {
  const first = routes.findIndex((r) => r.match.headers?.[0]?.invert_match || !r.match.headers) + 1;
  const subset =
    routes.findIndex((r) => r.match.headers?.[0]?.string_match?.exact.startsWith("ds-stage-dev--version-v1.")) + 1;
  return `${routes.length} routes; the request first matches route ${first}, then its subset's route ${subset}`;
}

/**
 * Catalog mode with 1,000 subsets, two route orders: as rendered (`userFirst`: the user's route first for requests
 * without the subset header) and as rendered before issue 17 §4 (`generatedFirst`: the same routes without that
 * first copy, so every request walks the 1,000 generated routes before it reaches the user's route).
 */
async function catalogConfigs(targetPort, filterFile) {
  const podsJson = catalogPods(targetPort);
  const rendered = await renderCatalog(
    seedSources("step3-default-subset-dr.yaml", "step2-vs.yaml"),
    podsJson,
    CATALOG_ROUTE_TOKEN,
  );
  const pods = JSON.parse(podsJson).items.map((p) => ({
    address: p.status.podIP,
    port: targetPort,
    labels: p.metadata.labels,
  }));
  const { routes, clusters } = catalogEnvoy(rendered, pods);
  if (!routes[0].match.headers?.[0]?.invert_match)
    throw new Error("catalog: the rendered routes do not start with the user's route");
  const subsets = rendered.destinationRule.spec.subsets.length;
  const config = (list) => ({
    bootstrap: bootstrap(
      virtualHost(list),
      [wasmFilter(filterFile, "dynamic_subset", rendered.pluginConfig), routerFilter()],
      clusters,
    ),
    note: `${subsets} subsets, ${routeNote(list)}`,
  });
  return { userFirst: config(routes), generatedFirst: config(routes.slice(1)) };
}

/**
 * Every configuration, each routing REQUEST to TARGET. podPorts: listener name -> port of the upstream.
 * group "main": the comparison table; group "route-cache" (route-cache.mjs) adds the probes.
 */
export async function benchConfigs(podPorts, modules) {
  const endpoints = [
    {
      host: HOST,
      endpoints: PODS.map((p) => ({ address: p.address, port: podPorts[podListener(p.address)], labels: p.labels })),
    },
  ];
  const targetOnly = [staticCluster("floor", [{ address: TARGET, port: podPorts[podListener(TARGET)] }])];
  const floorRoutes = virtualHost([{ name: "default", match: { prefix: "/" }, route: { cluster: "floor" } }]);
  const seed = await renderMetadata(
    seedSources("step3-default-subset-dr.yaml", "step2-vs.yaml"),
    endpoints,
    modules.filter,
  );
  const eight = await renderMetadata(eightKeySources(), endpoints, modules.filter);
  const pinned = await renderMetadata(seedSources("step4-ip-dr-vs.yaml"), endpoints, modules.filter);
  const seedMappings = seed.pluginConfig.services[0].routes[0].headerToDynamicSubsetKey;
  const catalog = await catalogConfigs(podPorts[podListener(TARGET)], modules.filter);
  const main = [
    { id: "floor", label: "router only (floor)", bootstrap: bootstrap(floorRoutes, [routerFilter()], targetOnly) },
    {
      id: "noop",
      label: "no-op wasm",
      bootstrap: bootstrap(floorRoutes, [wasmFilter(modules.noop, "noop"), routerFilter()], targetOnly),
    },
    {
      id: "filter",
      label: "filter, seed 2 keys",
      bootstrap: bootstrap(seed.routeConfig, seed.httpFilters, seed.clusters),
    },
    {
      id: "c",
      label: "C reference, seed 2 keys",
      bootstrap: bootstrap(seed.routeConfig, withModule(seed.httpFilters, modules.c), seed.clusters),
    },
    {
      id: "native",
      label: "native chain, seed 2 keys",
      bootstrap: bootstrap(seed.routeConfig, [nativeHeaderToMetadata(seedMappings), routerFilter()], seed.clusters),
    },
    {
      id: "eight",
      label: "filter, eight keys",
      bootstrap: bootstrap(eight.routeConfig, eight.httpFilters, eight.clusters),
    },
    { id: "ip", label: "filter, %ip%", bootstrap: bootstrap(pinned.routeConfig, pinned.httpFilters, pinned.clusters) },
    { id: "catalog", label: "filter, catalog 1,000 subsets, generated routes first", ...catalog.generatedFirst },
    { id: "catalog-user-first", label: "filter, catalog 1,000 subsets, user route first", ...catalog.userFirst },
  ];
  return { main: main.map((c) => ({ ...c, group: "main" })), floorRoutes, targetOnly, seed };
}

/** The floor's route and cluster with the filter in front, configured with `pluginConfig` (memory and LDS runs). */
export function filterOnFloor(filterFile, pluginConfig, floorRoutes, targetOnly) {
  return bootstrap(floorRoutes, [wasmFilter(filterFile, "dynamic_subset", pluginConfig), routerFilter()], targetOnly);
}
