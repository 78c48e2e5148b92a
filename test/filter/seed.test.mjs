// The compiled filter on the seed configuration (the example of docs/configuration.md), through the proxy-wasm
// host emulator: what each mode writes for the seed's requests, the decision in filter state, the counters, the
// 503 local reply, clear_route_cache and the %ip% session header.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FilterHeadersStatus, WasmResult } from "../../emulator/index.mjs";
import {
  b64,
  decisionOf,
  internalHeaders,
  outcomeCounts,
  PREFIX,
  ROUTE_TOKEN,
  send,
  SESSION_HEADER,
  seedConfig,
  startFilter,
  SUBSET_HEADER,
} from "./fixtures.mjs";

const DEV_V1 = [
  ["x-stage", "dev"],
  ["x-version", "v1"],
];
const PROD_V1 = [
  ["x-stage", "prod"],
  ["x-version", "v1"],
];

describe("metadata mode, seed configuration", () => {
  it("writes one header per key for x-stage: dev, x-version: v1 (step 2)", async () => {
    const host = await startFilter(seedConfig("metadata"));
    const s = send(host, { headers: DEV_V1 });
    assert.equal(s.status, FilterHeadersStatus.Continue);
    assert.deepEqual(internalHeaders(s), [
      [`${PREFIX}stage`, "dev"],
      [`${PREFIX}version`, "v1"],
    ]);
    assert.equal(decisionOf(s), "subset:stage=dev,version=v1");
    assert.equal(s.localResponse, null);
    assert.deepEqual(s.foreignCalls, [], "metadata mode never needs clear_route_cache");
    assert.equal(host.counter("dynamic_subset_requests_total"), 1n);
    assert.deepEqual(outcomeCounts(host), { subset: 1 });
  });

  it("fills absent headers from the defaults (prod, v3) and leaves prod/v1 to Envoy's subset load balancer", async () => {
    const host = await startFilter(seedConfig("metadata"));
    assert.deepEqual(internalHeaders(send(host)), [
      [`${PREFIX}stage`, "prod"],
      [`${PREFIX}version`, "v3"],
    ]);
    const s = send(host, { headers: PROD_V1 });
    assert.deepEqual(internalHeaders(s), [
      [`${PREFIX}stage`, "prod"],
      [`${PREFIX}version`, "v1"],
    ]);
    assert.equal(s.localResponse, null, "the fallback is Envoy's to apply in metadata mode");
  });

  it("writes the %ip% key on the pin route (step 4)", async () => {
    const host = await startFilter(seedConfig("metadata"));
    const s = send(host, { route: "pin", headers: [["x-ip", "192.168.0.6"]] });
    assert.deepEqual(internalHeaders(s), [[`${PREFIX}%25ip%25`, "192.168.0.6"]]);
    assert.equal(decisionOf(s), "subset:%ip%=192.168.0.6");
  });

  it("writes ~invalid~ for an unmatchable value and counts it as unmatchable", async () => {
    const host = await startFilter(seedConfig("metadata"));
    const s = send(host, {
      headers: [
        ["x-stage", "dev prod"],
        ["x-version", "v1"],
      ],
    });
    assert.deepEqual(internalHeaders(s), [
      [`${PREFIX}stage`, "~invalid~"],
      [`${PREFIX}version`, "v1"],
    ]);
    assert.equal(decisionOf(s), "subset:stage=~invalid~,version=v1");
    assert.deepEqual(outcomeCounts(host), { unmatchable: 1 });
  });

  it('records "none" and writes nothing when no selector applies', async () => {
    const host = await startFilter(seedConfig("metadata"));
    const s = send(host, { route: "pin" });
    assert.deepEqual(internalHeaders(s), []);
    assert.equal(decisionOf(s), "none");
    assert.deepEqual(outcomeCounts(host), { no_selector: 1 });
  });
});

describe("catalog mode, seed configuration", () => {
  it("routes dev/v1 by the subset header with the route token, then clears the route cache", async () => {
    const host = await startFilter(seedConfig("catalog"));
    const s = send(host, { headers: DEV_V1 });
    assert.equal(s.status, FilterHeadersStatus.Continue);
    assert.deepEqual(internalHeaders(s), [[SUBSET_HEADER, `dev-v1.${ROUTE_TOKEN}`]]);
    assert.equal(decisionOf(s), "subset:stage=dev,version=v1");
    assert.deepEqual(
      s.foreignCalls.map((c) => c.name),
      ["clear_route_cache"],
    );
    assert.deepEqual(outcomeCounts(host), { subset: 1 });
  });

  it("falls back to the default subset prod-v3 for prod/v1 (step 3, DEFAULT_SUBSET)", async () => {
    const host = await startFilter(seedConfig("catalog"));
    const s = send(host, { headers: PROD_V1 });
    assert.deepEqual(internalHeaders(s), [[SUBSET_HEADER, `prod-v3.${ROUTE_TOKEN}`]]);
    assert.equal(decisionOf(s), "fallback:DEFAULT_SUBSET");
    assert.deepEqual(outcomeCounts(host), { fallback_default: 1 });
  });

  it('answers prod/v1 with 503 "no healthy upstream" under NO_FALLBACK (step 3)', async () => {
    const config = seedConfig("catalog");
    config.services[0].dynamicSubset.subsetSelectors[0].fallbackPolicy = "NO_FALLBACK";
    const host = await startFilter(config);
    const s = send(host, { headers: PROD_V1 });
    assert.equal(s.localResponse.status, 503);
    assert.equal(s.localResponse.body, "no healthy upstream");
    assert.equal(s.localResponse.details, "dynamic_subset_no_fallback");
    assert.equal(s.status, FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(decisionOf(s), "fallback:NO_FALLBACK");
    assert.deepEqual(s.foreignCalls, []);
    assert.deepEqual(internalHeaders(s), []);
    assert.deepEqual(outcomeCounts(host), { no_fallback: 1 });
  });

  it("leaves prod/v1 on its base route under ANY_ENDPOINT (step 3)", async () => {
    const config = seedConfig("catalog");
    config.services[0].dynamicSubset.subsetSelectors[0].fallbackPolicy = "ANY_ENDPOINT";
    const host = await startFilter(config);
    const s = send(host, { headers: PROD_V1 });
    assert.deepEqual(internalHeaders(s), []);
    assert.equal(decisionOf(s), "fallback:ANY_ENDPOINT");
    assert.equal(s.localResponse, null);
    assert.deepEqual(s.foreignCalls, [], "the route does not change");
    assert.deepEqual(outcomeCounts(host), { fallback_any: 1 });
  });

  it('pins x-ip: 192.168.0.6 with base64("192.168.0.6:8000") and, under NO_FALLBACK, the strict pin route (step 4)', async () => {
    const host = await startFilter(seedConfig("catalog"));
    const s = send(host, { route: "pin", headers: [["x-ip", "192.168.0.6"]] });
    assert.deepEqual(internalHeaders(s), [
      [SESSION_HEADER, b64("192.168.0.6:8000")],
      [SUBSET_HEADER, `%ip%.${ROUTE_TOKEN}`],
    ]);
    assert.equal(b64("192.168.0.6:8000"), "MTkyLjE2OC4wLjY6ODAwMA==");
    assert.equal(decisionOf(s), "subset:%ip%=192.168.0.6");
    assert.deepEqual(
      s.foreignCalls.map((c) => c.name),
      ["clear_route_cache"],
    );
  });

  it("pins with the session header alone, no route change, where the %ip% selector falls back to any endpoint", async () => {
    const config = seedConfig("catalog");
    config.services[0].dynamicSubset.subsetSelectors[1].fallbackPolicy = "ANY_ENDPOINT";
    const host = await startFilter(config);
    const s = send(host, { route: "pin", headers: [["x-ip", "192.168.0.6"]] });
    assert.deepEqual(internalHeaders(s), [[SESSION_HEADER, b64("192.168.0.6:8000")]]);
    assert.equal(decisionOf(s), "subset:%ip%=192.168.0.6");
    assert.deepEqual(s.foreignCalls, []);
  });

  it("removes the session header Envoy's stateful session adds to responses", async () => {
    const host = await startFilter(seedConfig("catalog"));
    for (const headers of [[["x-ip", "192.168.0.6"]], []]) {
      const s = send(host, { route: "pin", headers });
      s.responseHeaders([
        [":status", "200"],
        [SESSION_HEADER, b64("192.168.0.104:8000")],
        ["x-app", "a"],
      ]);
      assert.deepEqual(s.responseHeaderMap, [
        [":status", "200"],
        ["x-app", "a"],
      ]);
      s.complete();
    }
  });

  it("answers an unknown IP with 503 under the global NO_FALLBACK", async () => {
    const host = await startFilter(seedConfig("catalog"));
    const s = send(host, { route: "pin", headers: [["x-ip", "10.9.9.9"]] });
    assert.equal(s.localResponse.status, 503);
    assert.equal(decisionOf(s), "fallback:NO_FALLBACK");
  });

  for (const [answer, clearRouteCache] of [
    ["NotFound", null],
    ["Unimplemented", () => WasmResult.Unimplemented],
  ]) {
    it(`tolerates an Envoy without clear_route_cache (${answer}, < 1.33): asks once, then stops asking`, async () => {
      const host = await startFilter(seedConfig("catalog"), {
        foreignFunctions: { clear_route_cache: clearRouteCache },
        logLevel: "debug",
      });
      const first = send(host, { headers: DEV_V1 });
      const second = send(host, { headers: DEV_V1 });
      assert.deepEqual(internalHeaders(second), [[SUBSET_HEADER, `dev-v1.${ROUTE_TOKEN}`]]);
      assert.equal(first.hostCalls.byName.proxy_call_foreign_function, 1);
      assert.equal(second.hostCalls.byName.proxy_call_foreign_function, undefined);
      assert.equal(host.failed, false);
      assert.deepEqual(
        host.logsAt("debug").filter((l) => l.includes("clear_route_cache")),
        ["clear_route_cache is not available (Envoy < 1.33 re-matches routes itself)"],
      );
      assert.deepEqual(host.logsAt("error"), []);
    });
  }
});

describe("responseHeader: true", () => {
  it("adds x-dynamic-subset: <decision> to the response", async () => {
    const host = await startFilter(seedConfig("metadata", { responseHeader: true }));
    const s = send(host, { headers: DEV_V1 });
    s.responseHeaders([
      [":status", "200"],
      ["x-dynamic-subset", "spoofed by upstream"],
    ]);
    assert.deepEqual(s.responseHeaderMap, [
      [":status", "200"],
      ["x-dynamic-subset", "subset:stage=dev,version=v1"],
    ]);
  });

  it("puts it on the filter's own 503 once, even when on_response_headers runs for that reply", async () => {
    const config = seedConfig("catalog", { responseHeader: true });
    const host = await startFilter(config);
    const s = send(host, { route: "pin", headers: [["x-ip", "10.9.9.9"]] });
    assert.deepEqual(s.localResponse.headers, [["x-dynamic-subset", "fallback:NO_FALLBACK"]]);
    s.responseHeaders([[":status", "503"], ...s.localResponse.headers]);
    assert.deepEqual(s.responseHeaderMap, [
      [":status", "503"],
      ["x-dynamic-subset", "fallback:NO_FALLBACK"],
    ]);
  });

  it("starts every stream clean: a context reused after a 503 or a decision carries nothing over", async () => {
    const host = await startFilter(seedConfig("catalog", { responseHeader: true }));
    const replied = send(host, { route: "pin", headers: [["x-ip", "10.9.9.9"]] });
    assert.equal(replied.localResponse.status, 503);
    replied.complete();
    const passedThrough = send(host, { cluster: "elsewhere", headers: DEV_V1 });
    passedThrough.responseHeaders([
      [":status", "200"],
      [SESSION_HEADER, "not ours to remove"],
    ]);
    assert.deepEqual(passedThrough.responseHeaderMap, [
      [":status", "200"],
      [SESSION_HEADER, "not ours to remove"],
    ]);
    passedThrough.complete();
    const decided = send(host, { headers: DEV_V1 });
    decided.responseHeaders([[":status", "200"]]);
    assert.deepEqual(decided.responseHeaderMap, [
      [":status", "200"],
      ["x-dynamic-subset", decisionOf(decided)],
    ]);
  });

  it("adds nothing when off", async () => {
    const host = await startFilter(seedConfig("metadata"));
    const s = send(host, { headers: DEV_V1 });
    s.responseHeaders([[":status", "200"]]);
    assert.deepEqual(s.responseHeaderMap, [[":status", "200"]]);
  });
});

describe("Istio cluster names", () => {
  it("matches a host entry by outbound|<port>||<host> and passes other subsets through", async () => {
    const service = {
      ...seedConfig("metadata").services[0],
      cluster: undefined,
      host: "helloworld.default.svc.cluster.local",
    };
    delete service.cluster;
    const host = await startFilter({ services: [service] });
    const matched = send(host, { cluster: "outbound|8000||helloworld.default.svc.cluster.local", headers: DEV_V1 });
    assert.equal(decisionOf(matched), "subset:stage=dev,version=v1");
    const subsetCluster = send(host, {
      cluster: "outbound|8000|v1|helloworld.default.svc.cluster.local",
      headers: DEV_V1,
    });
    assert.equal(decisionOf(subsetCluster), undefined);
    assert.deepEqual(internalHeaders(subsetCluster), []);
  });
});
