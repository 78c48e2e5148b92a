// Benchmark scenarios (docs/performance.md): one plugin configuration and one request each, identical for every module;
// a scenario per key source besides the list of docs/performance.md.

import { specExampleService } from "../examples/helloworld/plugin-config.mjs";

/** Headers a typical proxied request carries besides the mapped ones. */
const BASE_HEADERS = [
  [":authority", "helloworld:8000"],
  [":path", "/hello?name=bench"],
  [":method", "GET"],
  [":scheme", "http"],
  ["user-agent", "curl/8.5.0"],
  ["accept", "*/*"],
  ["x-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e"],
  ["x-forwarded-proto", "http"],
];

const ROUTED = { "xds.cluster_name": "helloworld", "xds.route_name": "default" };

/** The seed's helloworld service (stage/version with defaults, %ip% on route `pin`). */
const seedService = () => specExampleService();

const EIGHT_KEYS = ["stage", "version", "region", "zone", "tenant", "track", "build", "shard"];

function eightKeyService() {
  return {
    cluster: "helloworld",
    dynamicSubset: { subsetSelectors: [{ keys: ["stage", "version"] }, { keys: EIGHT_KEYS }] },
    routes: [{ name: "default", headerToDynamicSubsetKey: EIGHT_KEYS.map((key) => ({ header: `x-${key}`, key })) }],
  };
}

/** The seed's service with stage and version read from another key source (docs/configuration.md "Key sources"). */
function sourceService(source) {
  const service = seedService();
  service.routes[0].headerToDynamicSubsetKey = [
    { [source]: "version", key: "version", defaultValue: "v3" },
    { [source]: "stage", key: "stage", defaultValue: "prod" },
  ];
  return service;
}

/** BASE_HEADERS with `name` replaced or added. */
function withHeader(name, value) {
  return [...BASE_HEADERS.filter(([n]) => n !== name), [name, value]];
}

/** Catalog mode: 40 stages x 25 versions = 1,000 subsets, plus one endpoint per subset. */
function catalogService() {
  const subsets = [];
  const endpoints = [];
  for (let s = 0; s < 40; s++)
    for (let v = 0; v < 25; v++) {
      const labels = { stage: `stage-${s}`, version: `v${v}` };
      subsets.push({ name: `stage-${s}-v${v}`, labels });
      endpoints.push({ address: `10.${s}.${v}.7:8000`, labels });
    }
  return {
    ...seedService(),
    dynamicSubset: {
      subsetSelectors: [{ keys: ["stage", "version"], fallbackPolicy: "DEFAULT_SUBSET" }, { keys: ["%ip%"] }],
      defaultSubset: { stage: "stage-0", version: "v0" },
    },
    catalog: { routeToken: "9f3c1a7e52d04b68", subsets, endpoints },
  };
}

export const SCENARIOS = [
  {
    name: "no mapping",
    what: "configured cluster, route without a mapping (decision none)",
    config: { services: [seedService()] },
    properties: { "xds.cluster_name": "helloworld", "xds.route_name": "unmapped" },
    headers: BASE_HEADERS,
  },
  {
    name: "seed: two keys",
    what: "metadata mode, x-stage/x-version with defaults, subset:stage=dev,version=v1",
    config: { services: [seedService()] },
    properties: ROUTED,
    headers: [...BASE_HEADERS, ["x-stage", "dev"], ["x-version", "v1"]],
  },
  {
    name: "eight keys",
    what: "metadata mode, eight mapped headers, one eight-key selector",
    config: { services: [eightKeyService()] },
    properties: ROUTED,
    headers: [...BASE_HEADERS, ...EIGHT_KEYS.map((key, i) => [`x-${key}`, `${key}-${i}`])],
  },
  {
    name: "%ip% pinning",
    what: "metadata mode, route pin, x-ip: 192.168.0.6 (IP literal check)",
    config: { services: [seedService()] },
    properties: { "xds.cluster_name": "helloworld", "xds.route_name": "pin" },
    headers: [...BASE_HEADERS, ["x-ip", "192.168.0.6"]],
  },
  {
    name: "cookie: two keys",
    what: "metadata mode, stage/version from two cookies of one Cookie header (one read), among other cookies",
    config: { services: [sourceService("cookie")] },
    properties: ROUTED,
    headers: withHeader("cookie", "session=9f3c1a7e52d04b68a1; theme=dark; stage=dev; version=v1; consent=yes"),
  },
  {
    name: "query: two keys",
    what: "metadata mode, stage/version from two query parameters of :path (one read), percent-decoded",
    config: { services: [sourceService("query")] },
    properties: ROUTED,
    headers: withHeader(":path", "/hello?name=bench&stage=dev&version=v%31&page=2"),
  },
  {
    name: "baggage: two keys",
    what: "metadata mode, stage/version from two W3C baggage members (one read), whole header checked",
    config: { services: [sourceService("baggage")] },
    properties: ROUTED,
    headers: withHeader("baggage", "userId=alice,stage=dev;lane,version=v1,isProduction=false"),
  },
  {
    name: "catalog 1,000 subsets",
    what: "catalog mode, subset header + clear_route_cache, lookup among 1,000 subsets",
    config: { mode: "catalog", services: [catalogService()] },
    properties: ROUTED,
    headers: [...BASE_HEADERS, ["x-stage", "stage-17"], ["x-version", "v12"]],
  },
];

export const RESPONSE_HEADERS = [
  [":status", "200"],
  ["content-type", "text/plain"],
  ["content-length", "64"],
];

/** 1,000 services x 10 routes (two mappings each), metadata mode: the configuration-parse bar (< 50 ms). */
export function largeConfig(services = 1000, routes = 10) {
  const list = [];
  for (let s = 0; s < services; s++) {
    const svc = seedService();
    svc.cluster = `outbound|8000||svc-${s}.default.svc.cluster.local`;
    svc.routes = [];
    for (let r = 0; r < routes; r++)
      svc.routes.push({
        name: `route-${r}`,
        headerToDynamicSubsetKey: [
          { header: "x-version", key: "version", defaultValue: `v${r}` },
          { header: "x-stage", key: "stage", defaultValue: "prod" },
        ],
      });
    list.push(svc);
  }
  return { services: list };
}
