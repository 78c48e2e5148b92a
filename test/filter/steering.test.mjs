// The compiled filter, through the emulator, on requests a client steered onto a generated route (docs/behaviour.md
// "The route token"): a client that knows the route token sends the subset header itself, so Envoy's first route
// match picks a generated route before the filter runs. The filter must take such a request for the user's route,
// decide it from the request's own headers like any other, make Envoy match the route again whatever it writes, and
// count it under dynamic_subset_requests_total{dynamic_subset_arrival="generated_route"}.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ROUTE_TOKEN,
  SESSION_HEADER,
  SUBSET_HEADER,
  b64,
  decisionOf,
  internalHeaders,
  outcomeCounts,
  seedConfig,
  send,
  startFilter,
} from "./fixtures.mjs";

const HOST = "helloworld.default.svc.cluster.local";
const BASE_CLUSTER = `outbound|8000||${HOST}`;
const subsetCluster = (subset) => `outbound|8000|${subset}|${HOST}`;
const REQUESTS = "dynamic_subset_requests_total";
const ON_GENERATED_ROUTE = "dynamic_subset_arrival=.=generated_route;.;dynamic_subset_requests_total";

/** The seed's catalog-mode configuration with the service named by its Istio host, as the istio target renders it. */
function istioConfig(edit = (service) => service) {
  const config = seedConfig("catalog");
  const { cluster: _cluster, ...service } = config.services[0];
  return { ...config, services: [edit({ ...service, host: HOST })] };
}

function withPolicy(index, fallbackPolicy) {
  return istioConfig((service) => {
    service.dynamicSubset.subsetSelectors[index].fallbackPolicy = fallbackPolicy;
    return service;
  });
}

/** A client with the token: its subset header picks dev-v1's generated route; its own values say otherwise. */
function steered(headers, subset = "dev-v1", route = "default") {
  return {
    cluster: subsetCluster(subset),
    route: `${route}.${subset}`,
    headers: [[SUBSET_HEADER, `${subset}.${ROUTE_TOKEN}`], ...headers],
  };
}

const counts = (host) => ({
  requests: Number(host.counter(REQUESTS) ?? 0n),
  onGeneratedRoute: Number(host.counter(ON_GENERATED_ROUTE) ?? 0n),
  outcomes: outcomeCounts(host),
});

const PROD_V1 = [
  ["x-stage", "prod"],
  ["x-version", "v1"],
]; // no such subset
const PROD_V2 = [
  ["x-stage", "prod"],
  ["x-version", "v2"],
];

const routeCacheClears = (s) => s.foreignCalls.filter((c) => c.name === "clear_route_cache").length;

describe("a request a client steered onto a generated subset route", () => {
  it("is decided from its own headers: prod/v2, not the dev-v1 the client named", async () => {
    const host = await startFilter(istioConfig());
    const s = send(host, steered(PROD_V2));
    assert.equal(decisionOf(s), "subset:stage=prod,version=v2");
    assert.deepEqual(internalHeaders(s), [[SUBSET_HEADER, `prod-v2.${ROUTE_TOKEN}`]]);
    assert.equal(routeCacheClears(s), 1);
    assert.deepEqual(counts(host), { requests: 0, onGeneratedRoute: 1, outcomes: { subset: 1 } });
  });

  it("gets NO_FALLBACK's 503 when its own values name no subset", async () => {
    const host = await startFilter(withPolicy(0, "NO_FALLBACK"));
    const s = send(host, steered(PROD_V1));
    assert.equal(s.localResponse?.status, 503);
    assert.equal(s.localResponse.body, "no healthy upstream");
    assert.equal(decisionOf(s), "fallback:NO_FALLBACK");
    assert.deepEqual(counts(host), { requests: 0, onGeneratedRoute: 1, outcomes: { no_fallback: 1 } });
  });

  it("is matched again with the client's subset header gone when the decision writes none (ANY_ENDPOINT)", async () => {
    const host = await startFilter(withPolicy(0, "ANY_ENDPOINT"));
    const s = send(host, steered(PROD_V1));
    assert.equal(decisionOf(s), "fallback:ANY_ENDPOINT");
    assert.deepEqual(internalHeaders(s), []);
    assert.equal(routeCacheClears(s), 1, "without the call Envoy could keep the client's route");
    assert.equal(s.routeCacheCleared, true);
    assert.deepEqual(counts(host), { requests: 0, onGeneratedRoute: 1, outcomes: { fallback_any: 1 } });
  });

  it("is matched again when the decision is a pin that is not strict (session header only)", async () => {
    const host = await startFilter(withPolicy(1, "ANY_ENDPOINT"));
    const s = send(host, steered([["x-ip", "192.168.0.104"]], "prod-v3", "pin"));
    assert.equal(decisionOf(s), "subset:%ip%=192.168.0.104");
    assert.deepEqual(internalHeaders(s), [[SESSION_HEADER, b64("192.168.0.104:8000")]]);
    assert.equal(routeCacheClears(s), 1);
  });

  it("uses the mapping of <route> for <route>.<subset>, of <route>.<match> for <route>.<subset>.<match>", async () => {
    const host = await startFilter(
      istioConfig((service) => ({
        ...service,
        routes: [
          ...service.routes,
          { name: "web.api", headerToDynamicSubsetKey: [{ header: "x-api-stage", key: "stage", defaultValue: "dev" }] },
        ],
      })),
    );
    const viaDefault = send(host, steered([["x-stage", "dev"]]));
    assert.equal(decisionOf(viaDefault), "subset:stage=dev,version=v3", "default's x-version default v3 applies");
    const viaMatch = send(host, {
      cluster: subsetCluster("dev-v1"),
      route: "web.dev-v1.api",
      headers: [["x-api-stage", "prod"]],
    });
    assert.equal(decisionOf(viaMatch), "fallback:NO_FALLBACK", "web.api maps only the stage: no selector");
  });
});

describe("requests the filter must not take for steered ones", () => {
  it("passes through a subset cluster reached on a user's own route, and subsets outside the catalog", async () => {
    const host = await startFilter(istioConfig());
    for (const request of [
      { cluster: subsetCluster("dev-v1"), route: "mine" }, // the user's route names the subset itself
      { cluster: subsetCluster("v1"), route: "default.v1" }, // a DestinationRule subset of the user's
      { cluster: `outbound|8000|dev-v1|other.default.svc.cluster.local`, route: "default.dev-v1" },
    ]) {
      const s = send(host, { ...request, headers: [[SUBSET_HEADER, `dev-v1.${ROUTE_TOKEN}`]] });
      assert.equal(decisionOf(s), undefined, JSON.stringify(request));
      assert.deepEqual(internalHeaders(s), [], "internal headers are still stripped");
    }
    assert.deepEqual(counts(host), { requests: 0, onGeneratedRoute: 0, outcomes: {} });
  });

  it("counts a request on the user's route as an ordinary one", async () => {
    const host = await startFilter(istioConfig());
    send(host, { cluster: BASE_CLUSTER, headers: [["x-stage", "dev"]] });
    assert.deepEqual(counts(host), { requests: 1, onGeneratedRoute: 0, outcomes: { subset: 1 } });
  });

  it("does not steer in metadata mode (no catalog, no generated routes)", async () => {
    const config = seedConfig("metadata");
    const { cluster: _cluster, ...service } = config.services[0];
    const host = await startFilter({ ...config, services: [{ ...service, host: HOST }] });
    const s = send(host, { cluster: subsetCluster("dev-v1"), route: "default.dev-v1", headers: [] });
    assert.equal(decisionOf(s), undefined);
  });
});

describe("strict pins (a %ip% selector under NO_FALLBACK)", () => {
  it("writes the session header and the pin route's subset header, then asks for a new route", async () => {
    const host = await startFilter(istioConfig());
    const s = send(host, { cluster: BASE_CLUSTER, route: "pin", headers: [["x-ip", "192.168.0.6"]] });
    assert.deepEqual(internalHeaders(s), [
      [SESSION_HEADER, b64("192.168.0.6:8000")],
      [SUBSET_HEADER, `%ip%.${ROUTE_TOKEN}`],
    ]);
    assert.equal(routeCacheClears(s), 1);
    assert.deepEqual(counts(host), { requests: 1, onGeneratedRoute: 0, outcomes: { subset: 1 } });
  });

  it("takes a request a client steered onto the pin route <route>.%ip% for <route>", async () => {
    const host = await startFilter(istioConfig());
    const s = send(host, {
      cluster: BASE_CLUSTER,
      route: "pin.%ip%",
      headers: [
        [SUBSET_HEADER, `%ip%.${ROUTE_TOKEN}`],
        [SESSION_HEADER, b64("192.168.0.5:8000")],
        ["x-ip", "192.168.0.104"],
      ],
    });
    assert.equal(decisionOf(s), "subset:%ip%=192.168.0.104");
    assert.deepEqual(internalHeaders(s), [
      [SESSION_HEADER, b64("192.168.0.104:8000")],
      [SUBSET_HEADER, `%ip%.${ROUTE_TOKEN}`],
    ]);
    assert.deepEqual(counts(host), { requests: 0, onGeneratedRoute: 1, outcomes: { subset: 1 } });
  });
});
