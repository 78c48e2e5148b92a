// Catalog mode in real Envoy, against a client that knows the route token (issue 17, docs/behaviour.md "The route
// token"). The token is no secret: it is in the WasmPlugin and in every client sidecar's /config_dump. A client that
// sends `x-dynamic-subset-subset: <subset>.<token>` makes Envoy's first route match (before any filter runs) pick a
// generated route. The filter must still decide the request from the request's own headers: the subset its values
// name, NO_FALLBACK's 503 when they name none, any pod under ANY_ENDPOINT; and count it under
// dynamic_subset_requests_total{dynamic_subset_arrival="generated_route"}. Before the filter knew generated
// clusters, such a request was passed through: its internal headers stripped, Envoy matched the routes again and sent
// it to any pod, past NO_FALLBACK. Each request is also run through the Istio model (test/e2e/mesh-istio.mjs) with
// the filter in the emulator, which must predict what Envoy did.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { parse } from "yaml";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import { NO_HEALTHY_UPSTREAM } from "../../examples/helloworld/walkthrough.mjs";
import { IstioSidecar, emulatedFilter } from "../e2e/mesh-istio.mjs";
import { forEachEnvoy } from "./envoys.mjs";
import { seedPods, startPods } from "./istiod-pods.mjs";
import { prometheusValues } from "./metadata-envoy.mjs";
import { localManifest, localPods, startIstioSidecar } from "./istiod-sidecar.mjs";

const WASM = "build/dynamic_subset.wasm";
const SEED_PODS = readFileSync("examples/helloworld/pods.json", "utf8");
const SERVICE = readFileSync("istio/app.yaml", "utf8");
const HOST = "helloworld.default.svc.cluster.local";
const SUBSET_HEADER = "x-dynamic-subset-subset";
const REQUESTS = "dynamic_subset_requests_total";
const ON_GENERATED_ROUTE = `dynamic_subset_arrival=.=generated_route;.;${REQUESTS}`;
const outcome = (name) => `dynamic_subset_outcome=.=${name};.;dynamic_subset_outcomes_total`;
const ipOf = (hostPort) => hostPort?.replace(/:\d+$/, "");
const matchesHeadersIndividually = (version) => Number(version.split(".")[1]) >= 39;

const VARIANTS = ["step2", "step3-no-fallback", "step3-any-endpoint"];
/** istio-agent's bootstrap with `extraStatTags: [dynamic_subset_outcome, dynamic_subset_arrival]` has these rules. */
const STATS_TAGS = parse(readFileSync("envoy/stats-tags.yaml", "utf8")).stats_tags;
const REPEATS = 24; // every one of the six pods answers within 24 requests when any pod may (P(miss) < 0.02)

forEachEnvoy("real Envoy, catalog mode: a client that sends the subset header with the route token", (envoy) => {
  let pods;
  const sidecars = new Map();

  before(async () => {
    pods = await startPods(seedPods(SEED_PODS));
    for (const variant of VARIANTS) {
      const manifests = localManifest(readFileSync(`istio/${variant}.yaml`, "utf8"), pods.port);
      const inputs = { manifests, pods: localPods(SEED_PODS, pods.port), services: SERVICE };
      const sidecar = await startIstioSidecar(envoy.bin, inputs, {
        editBootstrap: (bootstrap) => (bootstrap.stats_config = { stats_tags: STATS_TAGS }),
      });
      const model = new IstioSidecar(manifests, inputs.pods, SERVICE, {
        matchHeadersIndividually: matchesHeadersIndividually(envoy.version),
      });
      const host = await ProxyWasmHost.load(WASM, {
        pluginConfig: JSON.stringify(model.pluginConfig),
        rootId: "dynamic_subset",
      });
      assert.ok(host.start(), `${variant}: the emulator refused the plugin configuration`);
      const token = /routeToken: (\w+)/.exec(manifests)[1];
      sidecars.set(variant, { sidecar, model, runFilter: emulatedFilter(host), token });
    }
  });
  after(async () => {
    for (const { sidecar } of sidecars.values()) await sidecar.close();
    await pods?.close();
  });

  /**
   * `headers` plus the subset header of the generated route of `subset`, sent REPEATS times: what Envoy did (statuses,
   * bodies, pods, access-log entries, counter deltas) and what the model predicts.
   */
  async function steer(variant, subset, headers) {
    const { sidecar, model, runFilter, token } = sidecars.get(variant);
    const pairs = [...Object.entries(headers), [SUBSET_HEADER, `${subset}.${token}`]];
    const before = await sidecar.counters();
    const responses = [];
    for (let i = 0; i < REPEATS; i++) responses.push(await sidecar.request(pairs, { waitForLog: false }));
    for (const r of responses) r.log = await sidecar.accessLog(r.id);
    const after = await sidecar.counters();
    const delta = (name) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const predicted = model.request(pairs, runFilter);
    return {
      statuses: [...new Set(responses.map((r) => r.status))],
      bodies: [...new Set(responses.map((r) => r.body))],
      pods: [...new Set(responses.filter((r) => r.status === 200).map((r) => ipOf(r.log.host)))].sort(),
      logs: responses.map((r) => r.log),
      delta,
      predicted: { ...predicted, decision: predicted.filter?.decision ?? null },
    };
  }

  test("NO_FALLBACK: prod/v1 names no subset, so the token of prod/v2 still gets 503 no healthy upstream", async () => {
    const seen = await steer("step3-no-fallback", "ds-stage-prod--version-v2", {
      "x-stage": "prod",
      "x-version": "v1",
    });
    assert.deepEqual(seen.statuses, [503], "the client's chosen subset answered past NO_FALLBACK");
    assert.deepEqual(seen.bodies, [NO_HEALTHY_UPSTREAM]);
    for (const log of seen.logs) {
      // The access log names the route matched again after the filter removed the client's subset header.
      assert.equal(log.route, "default");
      assert.equal(log.decision, "fallback:NO_FALLBACK");
      assert.equal(log.details, "dynamic_subset_no_fallback");
    }
    assert.equal(seen.delta(ON_GENERATED_ROUTE), REPEATS);
    assert.equal(seen.delta(REQUESTS), 0);
    assert.equal(seen.delta(outcome("no_fallback")), REPEATS);
    assert.deepEqual(
      { status: seen.predicted.status, route: seen.predicted.route, decision: seen.predicted.decision },
      { status: 503, route: "default", decision: "fallback:NO_FALLBACK" },
      "the Istio model",
    );
  });

  test("a subset: dev/v2's own values reach dev/v2's pod, not prod/v3 whose token the client sent", async () => {
    const seen = await steer("step2", "ds-stage-prod--version-v3", { "x-stage": "dev", "x-version": "v2" });
    assert.deepEqual(seen.statuses, [200]);
    assert.deepEqual(seen.pods, ["127.0.0.1"]);
    for (const log of seen.logs) {
      assert.equal(log.route, "default.ds-stage-dev--version-v2", "Envoy matched the route again");
      assert.equal(log.cluster, `outbound|8000|ds-stage-dev--version-v2|${HOST}`);
      assert.equal(log.decision, "subset:stage=dev,version=v2");
    }
    assert.equal(seen.delta(ON_GENERATED_ROUTE), REPEATS);
    assert.equal(seen.delta(outcome("subset")), REPEATS);
    assert.deepEqual(seen.predicted.pods, ["127.0.0.1"], "the Istio model");
    assert.equal(seen.predicted.route, "default.ds-stage-dev--version-v2");
  });

  test("ANY_ENDPOINT: no subset header written, the route matched again from the base route (every pod)", async () => {
    const seen = await steer("step3-any-endpoint", "ds-stage-dev--version-v1", {
      "x-stage": "prod",
      "x-version": "v1",
    });
    assert.deepEqual(seen.statuses, [200]);
    assert.ok(seen.pods.length > 1, `only ${seen.pods} answered: the client's subset dev/v1 kept the request`);
    for (const log of seen.logs) {
      assert.equal(log.route, "default");
      assert.equal(log.cluster, `outbound|8000||${HOST}`);
      assert.equal(log.decision, "fallback:ANY_ENDPOINT");
    }
    assert.equal(seen.delta(ON_GENERATED_ROUTE), REPEATS);
    assert.equal(seen.delta(outcome("fallback_any")), REPEATS);
    assert.equal(seen.predicted.route, "default", "the Istio model");
    assert.equal(seen.predicted.pods.length, 6);
  });

  test("Prometheus (envoy/stats-tags.yaml, Istio's extraStatTags): requests by arrival, one family", async () => {
    const { sidecar } = sidecars.get("step2");
    const before = await prometheusValues(sidecar);
    await steer("step2", "ds-stage-prod--version-v3", { "x-stage": "dev" });
    await sidecar.request({ "x-stage": "dev" });
    const after = await prometheusValues(sidecar);
    const delta = (series) => after.get(series) - (before.get(series) ?? 0);
    assert.equal(delta(`${REQUESTS}{dynamic_subset_arrival="generated_route"}`), REPEATS);
    assert.equal(delta(REQUESTS), 1);
    assert.equal(delta('dynamic_subset_outcomes_total{dynamic_subset_outcome="subset"}'), REPEATS + 1);
    const exposition = (await sidecar.admin("/stats/prometheus")).body;
    assert.equal(exposition.match(/^# TYPE dynamic_subset_requests_total counter$/gm)?.length, 1);
  });

  test("a request without the header is counted as an ordinary one", async () => {
    const { sidecar } = sidecars.get("step2");
    const before = await sidecar.counters();
    const r = await sidecar.request({ "x-stage": "dev", "x-version": "v1" });
    const after = await sidecar.counters();
    assert.equal(ipOf(r.log.host), "127.0.0.5");
    assert.equal(after.get(REQUESTS) - before.get(REQUESTS), 1);
    assert.equal(after.get(ON_GENERATED_ROUTE) - before.get(ON_GENERATED_ROUTE), 0);
  });
});
