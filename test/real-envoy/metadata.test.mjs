// Metadata mode in real Envoy, on every pinned version, one Envoy per version for the whole suite (the local example
// plus test instrumentation: metadata-envoy.mjs). What Envoy itself records is the judge: the decision as filter
// state in its access log, the counters in /stats/prometheus with envoy/stats-tags.yaml, the headers the backends
// received, Envoy's wasm stats and log for VM failures.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { compileFixture } from "./fixtures/compile.mjs";
import { HEADERS_PATH } from "../../envoy/backends.mjs";
import { startLocalExample } from "../../envoy/local-envoy.mjs";
import { NO_HEALTHY_UPSTREAM, WALKTHROUGH, localIp, welcome } from "../../examples/helloworld/walkthrough.mjs";
import { forEachEnvoy } from "./envoys.mjs";
import {
  HEADER_LIMITS,
  UNCONFIGURED_PREFIX,
  metadataSuiteBootstrap,
  prometheusValues,
  startMetadataSuite,
  wasmFailures,
} from "./metadata-envoy.mjs";
import { rawRequest } from "./raw-http.mjs";

const OUTCOMES = ["subset", "fallback_any", "fallback_default", "no_fallback", "no_selector", "unmatchable"];
const outcomeSeries = (outcome) => `dynamic_subset_outcomes_total{dynamic_subset_outcome="${outcome}"}`;
const REQUESTS_SERIES = "dynamic_subset_requests_total";

// A decision as docs/behaviour.md "Observability" defines it: `none`, or `subset:` and the chosen selector's keys in
// byte order, each with a label value, an IP (%ip%) or ~invalid~ (unmatchable).
const VALUE = String.raw`(~invalid~|[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?|[0-9.]+|\[[0-9a-f:.]+\])`;
const VALID_DECISION = new RegExp(String.raw`^(none|subset:[^=,]+=${VALUE}(,[^=,]+=${VALUE})*)$`);

/** The outcome counted for a metadata-mode decision. */
function outcomeOf(decision) {
  if (decision === "none") return "no_selector";
  return decision.includes("~invalid~") ? "unmatchable" : "subset";
}

/** The walkthrough's decision: the seed's VirtualService defaults x-stage to prod and x-version to v3. */
function walkthroughDecision(variant, headers) {
  if (variant === "step4-ip") return `subset:%ip%=${localIp(headers["x-ip"])}`;
  return `subset:stage=${headers["x-stage"] ?? "prod"},version=${headers["x-version"] ?? "v3"}`;
}

/** Names of the internal headers a backend received (any letter case). */
const internalHeadersIn = (echo) => echo.headers.filter(([name]) => /^x-dynamic-subset/i.test(name));

forEachEnvoy("real Envoy, metadata mode: decisions, counters, internal headers, hostile requests", (envoy) => {
  let suite;
  let before0;
  before(async () => {
    suite = await startMetadataSuite(envoy.bin);
    before0 = await prometheusValues(suite.envoy);
  });
  after(async () => {
    await suite?.close();
  });

  /** One request with a fresh x-test-id: -> { response, entry (its access log line) }. */
  async function send(listener, headers, { path: urlPath = "/" } = {}) {
    const id = suite.nextId();
    const response = await rawRequest(suite.envoy.ports[listener], [["x-test-id", id], ...headers], { path: urlPath });
    return { response, entry: await suite.accessLog.entry(id) };
  }
  const echoOf = (response) => {
    assert.equal(response.status, 200, response.body);
    return JSON.parse(response.body);
  };

  test("seed walkthrough: the pod, and the decision in the response header and in Envoy's access log", async () => {
    for (const { variant, requests } of WALKTHROUGH) {
      for (const { headers, reach } of requests) {
        const label = `${variant} ${JSON.stringify(headers)}`;
        const local = Object.entries(headers).map(([k, v]) => [k, localIp(v)]);
        const { response, entry } = await send(variant, local);
        const decision = walkthroughDecision(variant, headers);
        assert.equal(response.header("x-dynamic-subset"), decision, label);
        assert.deepEqual({ decision: entry.decision, route: entry.route }, { decision, route: "default" }, label);
        if (reach === NO_HEALTHY_UPSTREAM) {
          assert.deepEqual([response.status, response.body], [503, NO_HEALTHY_UPSTREAM], label);
          assert.deepEqual([entry.details, entry.upstream], ["no_healthy_upstream", null], label);
        } else {
          assert.ok(reach.map((ip) => welcome(ip).replace(ip, localIp(ip))).includes(response.body), label);
          assert.ok(reach.map(localIp).includes(entry.upstream.split(":")[0]), `${label}: upstream ${entry.upstream}`);
        }
      }
    }
  });

  test("the shipped stdout access log line carries the decision", async () => {
    await send("step2", [
      ["x-stage", "dev"],
      ["x-version", "v1"],
    ]);
    const deadline = Date.now() + 5000;
    const shipped =
      /^\[step2\] "GET \/" 200 - route=default upstream=127\.0\.0\.5:\d+ decision=subset:stage=dev,version=v1$/m;
    while (!shipped.test(suite.envoy.log.join("")) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.match(suite.envoy.log.join(""), shipped);
  });

  test("/stats/prometheus (envoy/stats-tags.yaml): one outcome label per request, counts equal the requests sent", async () => {
    const start = await prometheusValues(suite.envoy);
    const sent = { subset: 0, unmatchable: 0, no_selector: 0 };
    const mix = [
      ["step2", [["x-stage", "dev"]], "subset", 5],
      ["step3-any-endpoint", [["x-version", "Bad Value!"]], "unmatchable", 3],
      ["step4-ip", [], "no_selector", 2], // no x-ip, no default: no selector applies
      ["step4-ip", [["x-ip", "not-an-ip"]], "unmatchable", 2],
    ];
    for (const [listener, headers, outcome, times] of mix) {
      for (let i = 0; i < times; i++) {
        const { entry } = await send(listener, headers);
        assert.equal(outcomeOf(entry.decision), outcome, `${listener} ${JSON.stringify(headers)}: ${entry.decision}`);
        sent[outcome]++;
      }
    }
    for (let i = 0; i < 4; i++) await send("step2", [["x-stage", "dev"]], { path: `${UNCONFIGURED_PREFIX}/` }); // not counted
    const end = await prometheusValues(suite.envoy);
    const delta = (series) => (end.get(series) ?? NaN) - (start.get(series) ?? NaN);
    assert.deepEqual(
      Object.fromEntries(OUTCOMES.map((o) => [o, delta(outcomeSeries(o))])),
      { fallback_any: 0, fallback_default: 0, no_fallback: 0, ...sent },
      "per-outcome deltas",
    );
    assert.equal(delta(REQUESTS_SERIES), 12);
    assert.equal(end.get("dynamic_subset_config_rejected_total"), 0);
  });

  test("spoofed internal headers (any case, repeated) never reach a backend, configured or unconfigured cluster", async () => {
    const spoofed = [
      ["X-Dynamic-Subset-Stage", "dev"],
      ["x-dynamic-subset-stage", "qa"],
      ["X-DYNAMIC-SUBSET-VERSION", "v1"],
      ["x-dynamic-subset-version", "v2"],
    ];
    // step2 sends everything without x-stage/x-version to prod/v3: the spoofed dev/v1 must not count
    const { response, entry } = await send("step2", spoofed, { path: HEADERS_PATH });
    const echo = echoOf(response);
    assert.deepEqual(internalHeadersIn(echo), [], "configured cluster");
    assert.equal(entry.decision, "subset:stage=prod,version=v3");
    assert.ok(["127.0.0.104", "127.0.0.6"].includes(echo.ip), `spoofed headers were honoured: ${echo.ip}`);

    const unconfigured = await send("step2", spoofed, { path: `${UNCONFIGURED_PREFIX}${HEADERS_PATH}` });
    assert.deepEqual(internalHeadersIn(echoOf(unconfigured.response)), [], "unconfigured cluster");
    assert.equal(unconfigured.entry.decision, null, "no decision on an unconfigured cluster");

    const ipSpoofed = [
      ["X-Dynamic-Subset-%25IP%25", "127.0.0.5"],
      ["x-dynamic-subset-%25ip%25", "127.0.0.252"],
    ];
    const pinned = await send("step4-ip", [...ipSpoofed, ["x-ip", "127.0.0.6"]], { path: HEADERS_PATH });
    const pinnedEcho = echoOf(pinned.response);
    assert.deepEqual([pinnedEcho.ip, internalHeadersIn(pinnedEcho)], ["127.0.0.6", []]);
    const ipUnconfigured = await send("step4-ip", ipSpoofed, { path: `${UNCONFIGURED_PREFIX}${HEADERS_PATH}` });
    assert.deepEqual(internalHeadersIn(echoOf(ipUnconfigured.response)), []);
  });

  test("the filter alone (no header_to_metadata): one copy of each internal header, with the filter's value", async () => {
    const spoofed = [
      ["X-Dynamic-Subset-Stage", "dev"],
      ["x-dynamic-subset-stage", "qa"],
      ["X-DYNAMIC-SUBSET-VERSION", "v1"],
    ];
    const written = echoOf(
      (await send("filter-only", [...spoofed, ["x-stage", "dev"]], { path: HEADERS_PATH })).response,
    );
    assert.deepEqual(internalHeadersIn(written), [
      ["x-dynamic-subset-stage", "dev"],
      ["x-dynamic-subset-version", "v3"],
    ]);
    // Unconfigured cluster: the filter removes every copy of every internal header itself.
    const path = `${UNCONFIGURED_PREFIX}${HEADERS_PATH}`;
    assert.deepEqual(internalHeadersIn(echoOf((await send("filter-only", spoofed, { path })).response)), []);
  });

  test("a mapped header repeated: the filter reads the first copy; repeated headers reach the backend unchanged", async () => {
    const repeats = Array.from({ length: 100 }, (_, i) => ["x-version", i % 2 === 0 ? "v1" : "v2"]);
    const { response, entry } = await send("filter-only", [["x-stage", "dev"], ...repeats], { path: HEADERS_PATH });
    assert.equal(entry.decision, "subset:stage=dev,version=v1");
    const received = echoOf(response).headers.filter(([name]) => name === "x-version");
    assert.deepEqual(received, repeats);
  });

  const big = "v".repeat(64 * 1024);
  const HOSTILE = [
    ["64 KiB value of a mapped header", [["x-version", big]], "subset:stage=prod,version=~invalid~"],
    ["64 KiB value of an unmapped header", [["x-other", big]], "subset:stage=prod,version=v3"],
    ["64 KiB spoofed internal header", [["x-dynamic-subset-version", big]], "subset:stage=prod,version=v3"],
    ["binary bytes", [["x-stage", Buffer.from([0x80, 0x9f, 0xa0, 0xfe, 0xff])]], "subset:stage=~invalid~,version=v3"],
    ["invalid UTF-8", [["x-stage", Buffer.from([0x64, 0xc3, 0x28, 0x76])]], "subset:stage=~invalid~,version=v3"],
    ["overlong UTF-8 '/'", [["x-version", Buffer.from([0xc0, 0xaf])]], "subset:stage=prod,version=~invalid~"],
    [
      "100 repeats of a mapped header",
      Array.from({ length: 100 }, () => ["x-stage", "dev"]),
      "subset:stage=dev,version=v3",
    ],
    [
      "100 repeats of a mapped header, 64 KiB in all",
      Array.from({ length: 100 }, () => ["x-version", "v".repeat(640)]),
      "subset:stage=prod,version=~invalid~",
    ],
    [
      "100 repeats of an internal header",
      Array.from({ length: 100 }, () => ["X-Dynamic-Subset-Stage", "dev"]),
      "subset:stage=prod,version=v3",
    ],
  ];

  test(`hostile requests get a valid decision and never fail the VM (step2 limits: ${JSON.stringify(HEADER_LIMITS)})`, async () => {
    for (const listener of ["step2", "filter-only"]) {
      for (const [name, headers, decision] of HOSTILE) {
        const { response, entry } = await send(listener, headers);
        const label = `${listener}: ${name}`;
        assert.match(entry.decision ?? "-", VALID_DECISION, label);
        assert.equal(entry.decision, decision, label);
        assert.equal(response.header("x-dynamic-subset"), decision, label);
        // NO_FALLBACK on step2: an unmatchable value is a 503 from the subset load balancer; never a VM failure
        const expected = decision.includes("~invalid~") && listener === "step2" ? 503 : 200;
        assert.equal(response.status, expected, `${label}: ${response.status} ${entry.details}`);
      }
    }
    const failures = await wasmFailures(suite.envoy);
    assert.deepEqual(failures.failedCalls, [], "Envoy logged a failed Wasm call");
    assert.ok(Object.keys(failures.reloads).length > 0, "Envoy exports no wasm.<plugin>.vm_reload* stats");
    assert.deepEqual(Object.values(failures.reloads), new Array(Object.keys(failures.reloads).length).fill(0));
    // and the VM still routes
    const { response } = await send("step2", [
      ["x-stage", "dev"],
      ["x-version", "v1"],
    ]);
    assert.equal(response.body, "Welcome to helloworld stage: dev, version: v1, ip: 127.0.0.5");
  });

  test("Envoy's own limits answer before the filter runs: 431 over 60 KiB of headers, 400 for control bytes", async () => {
    // step3-any-endpoint keeps Envoy's default max_request_headers_kb (60)
    const tooBig = await rawRequest(suite.envoy.ports["step3-any-endpoint"], [["x-version", big]]);
    assert.equal(tooBig.status, 431);
    for (const byte of [0x00, 0x01, 0x7f]) {
      const r = await rawRequest(suite.envoy.ports.step2, [["x-version", Buffer.from([0x76, byte, 0x31])]]);
      assert.equal(r.status, 400, `byte 0x${byte.toString(16)}`);
      assert.equal(r.header("x-dynamic-subset"), undefined);
    }
  });

  test("over the whole suite, the counters equal the decisions in Envoy's access log", async () => {
    const end = await prometheusValues(suite.envoy);
    const logged = suite.accessLog.entries().filter((e) => e.decision !== null);
    const expected = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));
    for (const e of logged) expected[outcomeOf(e.decision)]++;
    const counted = Object.fromEntries(
      OUTCOMES.map((o) => [o, end.get(outcomeSeries(o)) - (before0.get(outcomeSeries(o)) ?? 0)]),
    );
    assert.deepEqual(counted, expected);
    assert.equal(end.get(REQUESTS_SERIES) - (before0.get(REQUESTS_SERIES) ?? 0), logged.length);
  });
});

/** The trap fixture (fixtures/trap.ts), compiled in memory (once for every version). */
let trapBinary;
const compileTrap = () => (trapBinary ??= compileFixture("trap.ts"));

forEachEnvoy("real Envoy: how a failed Wasm VM shows (the control for the suite above)", (envoy) => {
  test("a module that traps: 503, Envoy's log names the failed call, wasm.<plugin>.vm_reload* counts", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dynamic-subset-trap-"));
    const trap = path.join(dir, "trap.wasm");
    writeFileSync(trap, await compileTrap());
    const bootstrap = metadataSuiteBootstrap(path.join(dir, "access.log"));
    for (const l of bootstrap.static_resources.listeners)
      for (const f of l.filter_chains[0].filters[0].typed_config.http_filters)
        if (f.name === "envoy.filters.http.wasm") f.typed_config.config.vm_config.code.local.filename = trap;
    const example = await startLocalExample(envoy.bin, { bootstrap });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await example.request("step2", { "x-stage": "dev" })).status, 503);
      const failures = await wasmFailures(example);
      assert.ok(failures.failedCalls.some((l) => l.includes("Function: proxy_on_request_headers failed")));
      assert.ok(
        Object.values(failures.reloads).some((v) => v > 0),
        JSON.stringify(failures.reloads),
      );
    } finally {
      await example.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
