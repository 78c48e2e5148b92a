// What a request-header change made from Wasm costs Envoy (issue 17 §4), and what a host call costs, with the
// probe modules of probes.c:
//
//   routeCacheConfigs(modules, floorRoutes, targetOnly)  configurations for the timed rounds: the probes that do
//       nothing / remove an absent header / read it and remove it only if present, each with the floor's one route
//       and with 1,000 header-matching routes in front of it (catalog mode's generated routes); and, on the one
//       route, probes that make one kind of host call each (group "host-call", measured side by side only)
//   routeCacheFacts(envoys, modules, seed)  per Envoy version, whether Envoy matches the routes again after each
//       kind of change: a route that matches only on filter state the module (or the filter) set during
//       on_request_headers is reached only if Envoy matches again after that callback.

import { startEnvoy } from "../../envoy/local-envoy.mjs";
import { listener, routerFilter, virtualHost, wasmFilter } from "./configs.mjs";

const LARGE_TABLE = 1000;
const PROBE_HEADER = "x-bench-strip";
const REQUEST_TIMEOUT_MS = 30_000; // a shared machine can keep Envoy off the CPU for seconds

/** 1,000 routes matching x-dynamic-subset-subset exactly, as catalog mode generates them; the request has none. */
function largeRoutes(floorRoute) {
  const routes = Array.from({ length: LARGE_TABLE }, (_, i) => ({
    name: `default.ds-${i}`,
    match: {
      prefix: "/",
      headers: [{ name: "x-dynamic-subset-subset", string_match: { exact: `ds-${i}.9f3c1a7e52d04b68` } }],
    },
    route: floorRoute.route,
  }));
  return [...routes, floorRoute];
}

// group "route-cache": timed in the interleaved rounds and side by side; "host-call": side by side only (a few µs,
// which interleaved runs on a shared machine cannot resolve)
const PROBES = [
  { probe: "none", what: "does nothing", tables: [1, LARGE_TABLE + 1], group: "route-cache" },
  { probe: "remove", what: `removes absent ${PROBE_HEADER}`, tables: [1, LARGE_TABLE + 1], group: "route-cache" },
  { probe: "check", what: `reads absent ${PROBE_HEADER}`, tables: [1, LARGE_TABLE + 1], group: "route-cache" },
  { probe: "gets", what: "reads 5 absent headers", tables: [1], group: "host-call" },
  { probe: "pairs", what: "fetches the whole header map", tables: [1], group: "host-call" },
  { probe: "props", what: "reads xds.cluster_name and xds.route_name", tables: [1], group: "host-call" },
  { probe: "state", what: "writes one filter-state value", tables: [1], group: "host-call" },
  { probe: "metrics", what: "increments two counters", tables: [1], group: "host-call" },
];

export function routeCacheConfigs(modules, floorRoutes, targetOnly) {
  const floorRoute = floorRoutes.virtual_hosts[0].routes[0];
  const routeConfigs = { 1: floorRoutes, [LARGE_TABLE + 1]: virtualHost(largeRoutes(floorRoute)) };
  return [1, LARGE_TABLE + 1].flatMap((size) =>
    PROBES.filter((p) => p.tables.includes(size)).map(({ probe, what, group }) => ({
      id: `rc-${probe}-${size}`,
      label: `probe ${what}, ${size.toLocaleString("en")} route${size > 1 ? "s" : ""}`,
      group,
      bootstrap: {
        admin: {},
        static_resources: {
          listeners: [
            listener("bench", routeConfigs[size], [wasmFilter(modules.probe[probe], "probe"), routerFilter()]),
          ],
          clusters: targetOnly,
        },
      },
    })),
  );
}

// ------------------------------------------------------------------ the facts

/** Routes that tell by an x-route response header whether the request was matched again after the wasm filter. */
function factRoutes(markKey, route) {
  const named = (name, match) => ({
    name,
    match: { prefix: "/", ...match },
    ...route,
    response_headers_to_add: [{ header: { key: "x-route", value: name } }],
  });
  return virtualHost([
    named("probe-header", { headers: [{ name: PROBE_HEADER, present_match: true }] }),
    named("matched-again", { filter_state: [{ key: markKey, string_match: { safe_regex: { regex: ".+" } } }] }),
    named("default", {}),
  ]);
}

const direct = { direct_response: { status: 200, body: { inline_string: "ok\n" } } };

/** The cases: a listener each (module, route table) and the request sent to it. */
function factCases(modules, seed) {
  const probe = (name, file) =>
    listener(name, factRoutes("wasm.bench_mark", direct), [wasmFilter(file, "probe"), routerFilter()]);
  const seedCluster = seed.routeConfig.virtual_hosts[0].routes[0].route.cluster;
  // the filter's own chain (seed step 3): the filter writes filter state wasm.dynamic_subset on every decided request
  const filterRoutes = factRoutes("wasm.dynamic_subset", { route: { cluster: seedCluster } });
  filterRoutes.virtual_hosts[0].domains = seed.routeConfig.virtual_hosts[0].domains;
  return [
    { id: "set-property", what: "set_property only", listener: probe("set-property", modules.probe.markNone) },
    {
      id: "remove-absent",
      what: "remove an absent header",
      listener: probe("remove-absent", modules.probe.markRemove),
    },
    { id: "check-absent", what: "read an absent header", listener: probe("check-absent", modules.probe.markCheck) },
    {
      id: "remove-present",
      what: "remove a present header",
      listener: probe("remove-present", modules.probe.markRemove),
      headers: { [PROBE_HEADER]: "1" },
    },
    { id: "filter", what: "the filter (seed, dev/v1)", listener: listener("filter", filterRoutes, seed.httpFilters) },
  ];
}

/**
 * For each Envoy: which route served each case's request. "matched-again" = Envoy matched the routes again after
 * the module's on_request_headers; "default" (or "probe-header") = it kept the first match.
 */
export async function routeCacheFacts(envoys, modules, seed, request) {
  const cases = factCases(modules, seed);
  const facts = [];
  for (const { version, bin } of envoys) {
    const envoy = await startEnvoy(bin, {
      admin: {},
      static_resources: { listeners: cases.map((c) => c.listener), clusters: seed.clusters },
    });
    try {
      const routes = {};
      for (const c of cases) {
        const res = await envoy.request(c.id, { ...request, ...c.headers }, { timeoutMs: REQUEST_TIMEOUT_MS });
        routes[c.id] = res.status === 200 ? res.headers["x-route"] : `HTTP ${res.status}`;
      }
      facts.push({ version, routes });
    } finally {
      await envoy.close();
    }
  }
  return { cases: cases.map(({ id, what, headers }) => ({ id, what, headers })), facts };
}
