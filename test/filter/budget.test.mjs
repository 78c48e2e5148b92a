// The host-call budget per request of docs/performance.md, asserted against its formula:
//   (mapped headers read) + (internal headers written or removed) + (properties read, at most 2)
//   + (1 filter-state write) + (at most 2 metric updates) + (1 local reply or clear_route_cache, catalog mode)
// The seed configuration has 5 internal headers (stage, version, %ip% per-key headers, subset, session).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decisionOf, send, seedConfig, startFilter } from "./fixtures.mjs";

const INTERNAL_HEADERS = 5;

function budget({ mappedHeaders, properties, finalCall }) {
  assert.ok(properties <= 2);
  return mappedHeaders + INTERNAL_HEADERS + properties + 1 + 2 + (finalCall ? 1 : 0);
}

/** Calls by kind; every call made must be one of the budgeted kinds. */
function account(s) {
  const by = s.hostCalls.byName;
  const known = new Set([
    "proxy_get_property",
    "proxy_get_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_set_property",
    "proxy_increment_metric",
    "proxy_send_local_response",
    "proxy_call_foreign_function",
  ]);
  for (const name of Object.keys(by))
    assert.ok(known.has(name), `unbudgeted host call ${name} (${JSON.stringify(by)})`);
  const n = (name) => by[name] ?? 0;
  return {
    total: s.hostCalls.total,
    properties: n("proxy_get_property"),
    headersRead: n("proxy_get_header_map_value"),
    internal: n("proxy_replace_header_map_value") + n("proxy_remove_header_map_value"),
    filterState: n("proxy_set_property"),
    metrics: n("proxy_increment_metric"),
    finalCall: n("proxy_send_local_response") + n("proxy_call_foreign_function"),
  };
}

const CASES = [
  // [mode, request, expected total, mapped headers read, properties, final call]
  [
    "metadata",
    {
      headers: [
        ["x-stage", "dev"],
        ["x-version", "v1"],
      ],
    },
    12,
    2,
    2,
    0,
  ],
  ["metadata", { route: "pin", headers: [["x-ip", "192.168.0.6"]] }, 11, 1, 2, 0],
  ["metadata", { route: "elsewhere" }, 10, 0, 2, 0],
  [
    "catalog",
    {
      headers: [
        ["x-stage", "dev"],
        ["x-version", "v1"],
      ],
    },
    13,
    2,
    2,
    1,
  ],
  [
    "catalog",
    {
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v1"],
      ],
    },
    13,
    2,
    2,
    1,
  ],
  // A pin under the seed's global NO_FALLBACK is strict: the session header and the pin route's subset header
  // replace two of the removals, and clear_route_cache selects the pin route (docs/behaviour.md).
  ["catalog", { route: "pin", headers: [["x-ip", "192.168.0.6"]] }, 12, 1, 2, 1],
  ["catalog", { route: "pin", headers: [["x-ip", "10.0.0.1"]] }, 12, 1, 2, 1],
  // A client steered onto a generated subset route (the route token is no secret): decided like any other.
  [
    "catalog",
    {
      cluster: "outbound|8000|dev-v1|helloworld.default.svc.cluster.local",
      route: "default.dev-v1",
      headers: [
        ["x-stage", "prod"],
        ["x-version", "v2"],
      ],
      host: true,
    },
    13,
    2,
    2,
    1,
  ],
];

/** The seed's service named by its Istio host, as the istio target renders it. */
function istioSeed(mode) {
  const config = seedConfig(mode);
  const { cluster: _cluster, ...service } = config.services[0];
  return { ...config, services: [{ ...service, host: "helloworld.default.svc.cluster.local" }] };
}

describe("host calls per request (docs/performance.md)", () => {
  for (const [mode, request, total, mappedHeaders, properties, finalCall] of CASES) {
    it(`${mode} ${JSON.stringify(request)}: ${total} calls`, async () => {
      const host = await startFilter(request.host ? istioSeed(mode) : seedConfig(mode));
      send(host, request); // warm-up: clear_route_cache availability etc.
      const s = send(host, request);
      const calls = account(s);
      assert.equal(calls.total, total, JSON.stringify(s.hostCalls.byName));
      assert.ok(calls.total <= budget({ mappedHeaders, properties, finalCall }));
      assert.equal(calls.headersRead, mappedHeaders);
      assert.equal(calls.internal, INTERNAL_HEADERS, "each internal header removed or replaced exactly once");
      assert.equal(calls.properties, properties);
      assert.equal(calls.filterState, 1);
      assert.equal(calls.metrics, 2);
      assert.equal(calls.finalCall, finalCall);
    });
  }

  // Each key source reads its header once, however many keys come from it (docs/configuration.md "Key sources").
  const SOURCE_ROUTES = {
    "two cookies": [
      { cookie: "stage", key: "stage", defaultValue: "prod" },
      { cookie: "version", key: "version", defaultValue: "v3" },
    ],
    "two query parameters": [
      { query: "stage", key: "stage", defaultValue: "prod" },
      { query: "version", key: "version", defaultValue: "v3" },
    ],
    "two baggage members": [
      { baggage: "stage", key: "stage", defaultValue: "prod" },
      { baggage: "version", key: "version", defaultValue: "v3" },
    ],
    "every source": [
      { baggage: "stage", key: "stage" },
      { cookie: "stage", key: "stage" },
      { query: "stage", key: "stage" },
      { header: "x-stage", key: "stage" },
      { cookie: "version", key: "version", defaultValue: "v3" },
      { query: "version", key: "version" },
    ],
  };
  const SOURCE_REQUEST = {
    headers: [
      [":path", "/hello?stage=dev&version=v1"],
      ["cookie", "session=0f8f; stage=dev; version=v1"],
      ["baggage", "stage=dev,version=v1"],
      ["x-stage", "dev"],
    ],
  };
  const SOURCE_CASES = [
    // [mode, route, expected total, headers read, final call]
    ["metadata", "two cookies", 11, 1, 0],
    ["metadata", "two query parameters", 11, 1, 0],
    ["metadata", "two baggage members", 11, 1, 0],
    ["metadata", "every source", 14, 4, 0],
    ["catalog", "two cookies", 12, 1, 1],
    ["catalog", "every source", 15, 4, 1],
  ];
  for (const [mode, name, total, mappedHeaders, finalCall] of SOURCE_CASES) {
    it(`${mode}, ${name}: ${mappedHeaders} header reads, ${total} calls`, async () => {
      const config = seedConfig(mode);
      config.services[0].routes[0].headerToDynamicSubsetKey = SOURCE_ROUTES[name];
      const host = await startFilter(config);
      send(host, SOURCE_REQUEST);
      const s = send(host, SOURCE_REQUEST);
      assert.equal(decisionOf(s), "subset:stage=dev,version=v1");
      const calls = account(s);
      assert.equal(calls.total, total, JSON.stringify(s.hostCalls.byName));
      assert.ok(calls.total <= budget({ mappedHeaders, properties: 2, finalCall }));
      assert.equal(calls.headersRead, mappedHeaders);
      assert.equal(calls.internal, INTERNAL_HEADERS);
      assert.equal(calls.finalCall, finalCall);
    });
  }

  it("keeps a pin that is not strict on its route: the session header alone, no clear_route_cache", async () => {
    const config = seedConfig("catalog");
    config.services[0].dynamicSubset.subsetSelectors[1].fallbackPolicy = "ANY_ENDPOINT";
    const host = await startFilter(config);
    const request = { route: "pin", headers: [["x-ip", "192.168.0.6"]] };
    send(host, request);
    const calls = account(send(host, request));
    assert.equal(calls.total, 11);
    assert.equal(calls.finalCall, 0);
  });

  it("reads xds.route_name only when the service has a named route", async () => {
    const config = seedConfig("metadata");
    config.services[0].routes = [{ headerToDynamicSubsetKey: config.services[0].routes[0].headerToDynamicSubsetKey }];
    const host = await startFilter(config);
    const calls = account(send(host, { headers: [["x-stage", "dev"]] }));
    assert.equal(calls.properties, 1);
    assert.equal(calls.total, 2 + INTERNAL_HEADERS + 1 + 1 + 2);
  });

  it("spends one property read and the internal-header removals on an unconfigured cluster", async () => {
    const host = await startFilter(seedConfig("catalog"));
    const calls = account(send(host, { cluster: "other", headers: [["x-stage", "dev"]] }));
    assert.deepEqual(calls, {
      total: 1 + INTERNAL_HEADERS,
      properties: 1,
      headersRead: 0,
      internal: INTERNAL_HEADERS,
      filterState: 0,
      metrics: 0,
      finalCall: 0,
    });
  });

  it("makes no host call on the response path unless it has something to change", async () => {
    const host = await startFilter(seedConfig("metadata"));
    const s = send(host, { headers: [["x-stage", "dev"]] });
    const before = s.hostCalls.total;
    s.responseHeaders([[":status", "200"]]);
    s.complete();
    assert.equal(s.hostCalls.total, before);
  });
});
