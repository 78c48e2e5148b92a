// Catalog mode in real Envoy. The committed istio/step*.yaml, the seed's pods and its Service become the
// configuration istiod gives a client sidecar (./istiod.mjs: the rendered route order, subset clusters, the filter in
// the UNSPECIFIED_PHASE slot, stateful_session after it, Istio's retry policy, unhealthy endpoints in EDS), run in
// real Envoy in front of echo pods on 127.0.0.x. Every seed request reaches exactly the pods the walkthrough names
// or gets `503 no healthy upstream`; the route Envoy used, the upstream cluster and the filter's decision come from
// Envoy's access log, and the Istio model of the fast tests (test/e2e/mesh-istio.mjs) must predict all of it.
// Then the facts this rests on, each shown in Envoy: clear_route_cache and route re-matching (with a probe module),
// %ip% pinning through the session header, and what Istio's defaults do when a pinned pod is unhealthy, gone or
// failing (docs/istio.md). One Envoy per configuration and version, shared by the tests of a suite.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import { compileFixture } from "../../emulator/test/fixtures/build.mjs";
import { NO_HEALTHY_UPSTREAM, WALKTHROUGH, localIp } from "../../examples/helloworld/walkthrough.mjs";
import { IstioSidecar, emulatedFilter } from "../e2e/mesh-istio.mjs";
import { forEachEnvoy } from "./envoys.mjs";
import { podsWith, seedPods, startPods } from "./istiod-pods.mjs";
import { localManifest, localPods, renderSeedStep, startIstioSidecar } from "./istiod-sidecar.mjs";

const WASM = "build/dynamic_subset.wasm";
const SEED_PODS = readFileSync("examples/helloworld/pods.json", "utf8");
const SERVICE = readFileSync("istio/app.yaml", "utf8");
const VARIANTS = [...new Set(WALKTHROUGH.map((w) => w.variant))];
const INTERNAL = "x-dynamic-subset-";
const SESSION_HEADER = "x-dynamic-subset-host";
const b64 = (s) => Buffer.from(s).toString("base64");
const ipOf = (hostPort) => hostPort?.replace(/:\d+$/, "");

/** Envoy >= 1.39 matches a repeated header by any of its values (runtime guard match_headers_individually). */
const matchesHeadersIndividually = (version) => {
  const [major, minor] = version.split(".").map(Number);
  return major > 1 || minor >= 39;
};

/**
 * Sends `headers` `times` times; -> { pods: sorted IPs that answered, statuses, bodies, logs } (from the access log
 * and the bodies; a wrong pod among several shows up within these repeats).
 */
async function observe(sidecar, headers, times) {
  const responses = [];
  for (let i = 0; i < times; i++) responses.push(await sidecar.request(headers, { waitForLog: false }));
  for (const r of responses) r.log = await sidecar.accessLog(r.id);
  const answered = responses.filter((r) => r.status === 200).map((r) => ipOf(r.log.host));
  return {
    pods: [...new Set(answered)].sort(),
    statuses: new Set(responses.map((r) => r.status)),
    bodies: new Set(responses.map((r) => r.body)),
    logs: responses.map((r) => r.log),
    responses,
  };
}

/**
 * The seed's step 4 with best-effort pins: its %ip% selector falls back to any endpoint, so the filter writes only the
 * session header and the request keeps the user's route, with Istio's defaults (docs/istio.md "Strict %ip% pins").
 */
const BEST_EFFORT = "step4-ip-best-effort";
const bestEffortPins = (text) =>
  text.replace(
    "        - keys:\n          - '%ip%'\n",
    "        - keys:\n          - '%ip%'\n          fallbackPolicy: ANY_ENDPOINT\n",
  );

/** Enough repeats to see every one of `n` pods (P(miss) < 1e-4 for 6 equally likely pods). */
const repeatsFor = (n) => Math.max(8, 12 * n);

forEachEnvoy("real Envoy, catalog mode: the seed walkthrough through an istiod-shaped sidecar", (envoy) => {
  let pods;
  const sidecars = new Map();
  const models = new Map();
  let inputs;

  before(async () => {
    pods = await startPods(seedPods(SEED_PODS));
    inputs = (variant) => ({
      manifests: localManifest(readFileSync(`istio/${variant}.yaml`, "utf8"), pods.port),
      pods: localPods(SEED_PODS, pods.port),
      services: SERVICE,
    });
    const bestEffort = {
      manifests: localManifest(renderSeedStep("step4-ip", bestEffortPins), pods.port),
      pods: localPods(SEED_PODS, pods.port),
      services: SERVICE,
    };
    sidecars.set(BEST_EFFORT, await startIstioSidecar(envoy.bin, bestEffort));
    for (const variant of VARIANTS) {
      sidecars.set(variant, await startIstioSidecar(envoy.bin, inputs(variant)));
      const { manifests, pods: podsText } = inputs(variant);
      const model = new IstioSidecar(manifests, podsText, SERVICE, {
        matchHeadersIndividually: matchesHeadersIndividually(envoy.version),
      });
      const host = await ProxyWasmHost.load(WASM, {
        pluginConfig: JSON.stringify(model.pluginConfig),
        rootId: "dynamic_subset",
      });
      assert.ok(host.start(), `${variant}: the emulator refused the plugin configuration`);
      models.set(variant, { model, runFilter: emulatedFilter(host) });
    }
  });
  after(async () => {
    for (const sidecar of sidecars.values()) await sidecar.close();
    await pods?.close();
  });

  /** What the Istio model predicts for these headers, in the shape Envoy's access log shows it. */
  function predicted(variant, headers) {
    const { model, runFilter } = models.get(variant);
    const got = model.request(Object.entries(headers), runFilter);
    return { ...got, decision: got.filter?.decision ?? null };
  }

  for (const { variant, title, requests } of WALKTHROUGH) {
    test(title, async () => {
      const sidecar = sidecars.get(variant);
      for (const { headers: seedHeaders, reach, note } of requests) {
        const headers = Object.fromEntries(Object.entries(seedHeaders).map(([k, v]) => [k, localIp(v)]));
        const label = `${variant} ${JSON.stringify(headers)}${note ? ` (${note})` : ""}`;
        const expected = reach === NO_HEALTHY_UPSTREAM ? [] : reach.map(localIp).sort();
        const seen = await observe(sidecar, headers, repeatsFor(expected.length));
        const model = predicted(variant, headers);
        if (reach === NO_HEALTHY_UPSTREAM) {
          assert.deepEqual([...seen.statuses], [503], label);
          assert.deepEqual([...seen.bodies], [NO_HEALTHY_UPSTREAM], label);
          assert.deepEqual({ status: model.status, body: model.body }, { status: 503, body: NO_HEALTHY_UPSTREAM });
        } else {
          assert.deepEqual([...seen.statuses], [200], label);
          assert.deepEqual(seen.pods, expected, `${label}: the pods that answered`);
          assert.deepEqual(model.pods, expected, `${label}: the model's pods`);
        }
        for (const log of seen.logs) {
          assert.equal(log.route, model.route, `${label}: the route Envoy used`);
          if (log.cluster) assert.equal(log.cluster, model.cluster, `${label}: the upstream cluster`);
          assert.equal(log.decision, model.decision, `${label}: the filter's decision`);
        }
        for (const r of seen.responses)
          assert.equal(r.headers[SESSION_HEADER], undefined, `${label}: the session header reached the client`);
      }
      const leaked = pods.received.filter(({ headers }) => headers.some(([k]) => k.startsWith(INTERNAL)));
      assert.deepEqual(leaked, [], "an internal header reached a pod");
    });
  }

  test("the generated routes are chosen after the filter: Envoy matched the route again (clear_route_cache)", async () => {
    // No client header selects a generated route: Envoy matched `default` first, the filter read its mappings (it
    // has none for a generated route's name) and wrote the subset header; the route Envoy used is the generated one.
    const r = await sidecars.get("step2").request({ "x-stage": "dev", "x-version": "v2" });
    assert.deepEqual(
      { route: r.log.route, cluster: r.log.cluster, decision: r.log.decision, pod: ipOf(r.log.host) },
      {
        route: "default.ds-stage-dev--version-v2",
        cluster: "outbound|8000|ds-stage-dev--version-v2|helloworld.default.svc.cluster.local",
        decision: "subset:stage=dev,version=v2",
        pod: "127.0.0.1",
      },
    );
  });

  test("%ip% pins one pod through the session header, on a route to the base cluster of six pods", async () => {
    // Under NO_FALLBACK on the pin route <route>.%ip% (strict, no retries); best effort on the user's route.
    for (const [variant, route] of [
      ["step4-ip", "default.%ip%"],
      [BEST_EFFORT, "default"],
    ]) {
      const seen = await observe(sidecars.get(variant), { "x-ip": "127.0.0.6" }, 40);
      assert.deepEqual(seen.pods, ["127.0.0.6"], variant);
      for (const log of seen.logs) {
        assert.equal(log.route, route);
        assert.equal(log.cluster, "outbound|8000||helloworld.default.svc.cluster.local");
      }
    }
    // The same route without a pin spreads over the cluster: the pin is the session, not the route.
    const unpinned = await observe(sidecars.get("step3-any-endpoint"), { "x-stage": "prod", "x-version": "v1" }, 40);
    assert.ok(unpinned.pods.length > 1, `one base-route cluster answered from ${unpinned.pods}`);
  });

  test("a client cannot pin a pod or pick a subset with the internal headers, in any case, repeated", async () => {
    const step4 = await observe(
      sidecars.get("step4-ip"),
      [
        ["x-ip", "127.0.0.6"],
        ["X-Dynamic-Subset-Host", b64(`127.0.0.5:${pods.port}`)],
        ["x-dynamic-subset-host", b64(`127.0.0.252:${pods.port}`)],
      ],
      12,
    );
    assert.deepEqual(step4.pods, ["127.0.0.6"]);
    const wrongToken = await observe(
      sidecars.get("step3-no-fallback"),
      [
        ["x-stage", "prod"],
        ["x-version", "v1"],
        ["X-Dynamic-Subset-Subset", "ds-stage-dev--version-v1.0123456789abcdef0123456789abcdef"],
      ],
      4,
    );
    assert.deepEqual([...wrongToken.statuses], [503], "a guessed token must not escape NO_FALLBACK");
  });

  // Best-effort pins (a %ip% selector that does not fall back with 503) keep Istio's defaults; pins under NO_FALLBACK
  // are strict: ./catalog-pins.test.mjs.
  describe("Istio's defaults in the sidecar configuration (issue 17: what a sidecar really does)", () => {
    test("Envoy runs Istio's retry policy, a non-strict header session and override_host_status", async () => {
      const dump = JSON.parse((await sidecars.get(BEST_EFFORT).admin("/config_dump?include_eds")).body);
      const listener = dump.configs.find((c) => c["@type"].endsWith("ListenersConfigDump")).static_listeners[0];
      const hcm = listener.listener.filter_chains[0].filters[0].typed_config;
      const plugin = /kind: WasmPlugin\nmetadata:\n  name: (\S+)/.exec(readFileSync("istio/step4-ip.yaml", "utf8"))[1];
      assert.deepEqual(
        hcm.http_filters.map((f) => f.name),
        [
          `extensions.istio.io/trafficextension/default.${plugin}~istio-translated-wasmplugin`,
          "envoy.filters.http.grpc_stats",
          "envoy.filters.http.fault",
          "envoy.filters.http.cors",
          "envoy.filters.http.stateful_session",
          "envoy.filters.http.router",
        ],
      );
      const wasm = hcm.http_filters[0].typed_config.config;
      assert.deepEqual(
        { root_id: wasm.root_id, failure_policy: wasm.failure_policy, runtime: wasm.vm_config.runtime },
        { root_id: "dynamic_subset", failure_policy: "FAIL_CLOSED", runtime: "envoy.wasm.runtime.v8" },
        "the WasmPlugin's pluginName and failStrategy FAIL_CLOSE",
      );
      const [vhost] = hcm.route_config.virtual_hosts;
      assert.deepEqual(vhost.domains, [
        "helloworld.default.svc.cluster.local",
        "helloworld.default.svc.cluster.local.",
        "helloworld",
        "helloworld.default.svc",
        "helloworld.default",
      ]);
      for (const route of vhost.routes) {
        const retry = route.route.retry_policy;
        assert.equal(retry.num_retries, 2, route.name);
        assert.equal(retry.retry_on, "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes");
        assert.equal(retry.retriable_status_codes, undefined, "503 is not retried by default (Istio >= 1.24)");
        assert.equal(retry.retry_host_predicate[0].name, "envoy.retry_host_predicates.previous_hosts");
        assert.equal(retry.host_selection_retry_max_attempts, "5");
        const session = route.typed_per_filter_config["envoy.filters.http.stateful_session"];
        assert.equal(session.stateful_session.strict, undefined, `${route.name}: Istio never sets strict`);
        assert.equal(session.stateful_session.session_state.typed_config.name, SESSION_HEADER);
      }
      const clusters = dump.configs.find((c) => c["@type"].endsWith("ClustersConfigDump")).static_clusters;
      const base = clusters.find((c) => c.cluster.name === "outbound|8000||helloworld.default.svc.cluster.local");
      assert.deepEqual(base.cluster.common_lb_config.override_host_status.statuses, [
        "HEALTHY",
        "DRAINING",
        "UNKNOWN",
        "DEGRADED",
      ]);
      // Set, to 0 (proto3 JSON leaves the zero value out): no panic routing to unhealthy endpoints.
      assert.deepEqual(base.cluster.common_lb_config.healthy_panic_threshold, {});
      const eds = dump.configs.find((c) => c["@type"].endsWith("EndpointsConfigDump")).static_endpoint_configs;
      const baseEds = eds.find((e) => e.endpoint_config.cluster_name === base.cluster.name).endpoint_config;
      const unready = baseEds.endpoints[0].lb_endpoints.find(
        (e) => e.endpoint.address.socket_address.address === "127.0.0.77",
      );
      assert.equal(unready?.health_status, "UNHEALTHY", "istiod sends the unready dev/v4 pod as UNHEALTHY");
    });

    test("a subset whose only pod is unhealthy: the filter still picks it, Envoy answers 503 no healthy upstream", async () => {
      const sidecar = sidecars.get("step2");
      await sidecar.setPods(podsWith(inputs("step2").pods, "127.0.0.5", "unready"));
      try {
        const seen = await observe(sidecar, { "x-stage": "dev", "x-version": "v1" }, 4);
        assert.deepEqual([...seen.statuses], [503]);
        assert.deepEqual([...seen.bodies], [NO_HEALTHY_UPSTREAM]);
        for (const log of seen.logs) {
          assert.equal(log.decision, "subset:stage=dev,version=v1");
          assert.equal(log.flags, "UH");
          assert.equal(log.route, "default.ds-stage-dev--version-v1");
        }
      } finally {
        await sidecar.setPods(inputs("step2").pods);
      }
    });

    test("%ip% (best effort) to an unhealthy pod: the session is not strict, another pod answers", async () => {
      const sidecar = sidecars.get(BEST_EFFORT);
      await sidecar.setPods(podsWith(inputs("step4-ip").pods, "127.0.0.6", "unready"));
      try {
        const seen = await observe(sidecar, { "x-ip": "127.0.0.6" }, 24);
        assert.deepEqual([...seen.statuses], [200]);
        assert.ok(!seen.pods.includes("127.0.0.6"), `the unhealthy pod answered: ${seen.pods}`);
        assert.ok(seen.pods.length > 1, `one pod took every request: ${seen.pods}`);
        for (const log of seen.logs) assert.equal(log.decision, "subset:%ip%=127.0.0.6");
      } finally {
        await sidecar.setPods(inputs("step4-ip").pods);
      }
    });

    test("%ip% (best effort) to a pod that is no longer an endpoint: another pod answers", async () => {
      const sidecar = sidecars.get(BEST_EFFORT);
      await sidecar.setPods(podsWith(inputs("step4-ip").pods, "127.0.0.6", "removed"));
      try {
        const seen = await observe(sidecar, { "x-ip": "127.0.0.6" }, 12);
        assert.deepEqual([...seen.statuses], [200]);
        assert.ok(!seen.pods.includes("127.0.0.6"));
      } finally {
        await sidecar.setPods(inputs("step4-ip").pods);
      }
    });

    test("%ip% (best effort) to a pod that refuses connections: Istio's retry goes to another pod (previous_hosts)", async () => {
      const sidecar = sidecars.get(BEST_EFFORT);
      await pods.stop("127.0.0.252"); // for good: the tests above are done with it
      const seen = await observe(sidecar, { "x-ip": "127.0.0.252" }, 6);
      assert.deepEqual([...seen.statuses], [200]);
      assert.ok(!seen.pods.includes("127.0.0.252"));
      for (const log of seen.logs) assert.equal(log.attempts, 2, "the first attempt went to the pinned pod");
    });

    test("%ip% (best effort) to a pod that answers 503: not retried (503 left Istio's default retry_on in 1.24)", async () => {
      const sidecar = sidecars.get(BEST_EFFORT);
      pods.fail("127.0.0.103", 503, 1);
      const r = await sidecar.request({ "x-ip": "127.0.0.103" });
      assert.deepEqual(
        { status: r.status, attempts: r.log.attempts, pod: ipOf(r.log.host) },
        {
          status: 503,
          attempts: 1,
          pod: "127.0.0.103",
        },
      );
      const again = await sidecar.request({ "x-ip": "127.0.0.103" });
      assert.equal(again.status, 200);
      assert.equal(ipOf(again.log.host), "127.0.0.103");
    });
  });
});

forEachEnvoy("real Envoy without the filter: route re-matching and the session header, shown with a probe", (envoy) => {
  let pods;
  let dir;
  let sidecar; // step2's routes, the probe instead of the filter
  let session; // step4-ip's session, a probe that changes nothing
  let value; // a valid generated-route header value (subset + route token)

  /** The sidecar of a step with the probe (emulator/test/fixtures/probe.ts) running `script` on request headers. */
  const probeSidecar = (manifests, script) =>
    startIstioSidecar(
      envoy.bin,
      { manifests, pods: localPods(SEED_PODS, pods.port), services: SERVICE },
      {
        wasm: path.join(dir, "probe.wasm"),
        args: ["--component-log-level", "wasm:info"],
        editBootstrap(bootstrap) {
          const [wasm] = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters;
          wasm.typed_config.config.root_id = "";
          wasm.typed_config.config.configuration.value = `request_headers: ${script}`;
        },
      },
    );

  before(async () => {
    pods = await startPods(seedPods(SEED_PODS));
    dir = mkdtempSync(path.join(tmpdir(), "probe-"));
    writeFileSync(path.join(dir, "probe.wasm"), await compileFixture("probe.ts"));
    const manifests = localManifest(readFileSync("istio/step2.yaml", "utf8"), pods.port);
    value = `ds-stage-dev--version-v1.${/routeToken: (\w+)/.exec(manifests)[1]}`;
    // Request headers x-probe-* choose what the probe does.
    const script = [
      `if 0 x-probe-write replace 0 x-dynamic-subset-subset ${value}`,
      "if 0 x-probe-clear foreign clear_route_cache",
      "if 0 x-probe-strip remove 0 x-dynamic-subset-subset",
    ].join("; ");
    sidecar = await probeSidecar(manifests, script);
    session = await probeSidecar(localManifest(readFileSync("istio/step4-ip.yaml", "utf8"), pods.port), "");
  });
  after(async () => {
    await sidecar?.close();
    await session?.close();
    await pods?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the foreign function clear_route_cache exists and answers Ok", async () => {
    const r = await sidecar.request({ "x-probe-clear": "1" });
    assert.equal(r.status, 200);
    assert.ok(
      sidecar.log.join("").includes("foreign clear_route_cache -> 0 "),
      "the probe did not log clear_route_cache -> 0 (Ok)",
    );
  });

  test("a request-header change without clear_route_cache already makes Envoy match the route again", async () => {
    const written = await sidecar.request({ "x-probe-write": "1" });
    assert.equal(written.log.route, "default.ds-stage-dev--version-v1");
    const stripped = await observe(sidecar, { "x-dynamic-subset-subset": value, "x-probe-strip": "1" }, 12);
    assert.deepEqual([...new Set(stripped.logs.map((l) => l.route))], ["default"]);
    assert.ok(stripped.pods.length > 1, "a stripped subset header must leave the request on the base route");
  });

  test("a generated route is matched before the filter runs when the client sends its header", async () => {
    const r = await sidecar.request({ "x-dynamic-subset-subset": value });
    assert.equal(r.log.route, "default.ds-stage-dev--version-v1");
  });

  test("a header sent twice: Envoy >= 1.39 matches any value, older Envoy the values joined by a comma", async () => {
    const r = await sidecar.request([
      ["x-dynamic-subset-subset", "something-else"],
      ["x-dynamic-subset-subset", value],
    ]);
    assert.equal(
      r.log.route,
      matchesHeadersIndividually(envoy.version) ? "default.ds-stage-dev--version-v1" : "default",
    );
  });

  test("Envoy's header session answers with the host it chose when the session's host was not used", async () => {
    const pinned = await session.request({ [SESSION_HEADER]: b64(`127.0.0.6:${pods.port}`) });
    assert.deepEqual([ipOf(pinned.log.host), pinned.headers[SESSION_HEADER]], ["127.0.0.6", undefined]);
    // An unhealthy host (the unready dev/v4 pod) or none at all: another pod, named in the response, which is why
    // the filter removes this header from responses.
    for (const headers of [{ [SESSION_HEADER]: b64(`127.0.0.77:${pods.port}`) }, {}]) {
      const r = await session.request(headers);
      assert.equal(r.status, 200);
      assert.notEqual(ipOf(r.log.host), "127.0.0.77");
      assert.equal(Buffer.from(r.headers[SESSION_HEADER] ?? "", "base64").toString(), r.log.host);
    }
  });

  test("a strict session (the pin route): a header naming no usable host gets 503, no header balances normally", async () => {
    const token = /routeToken: (\w+)/.exec(readFileSync("istio/step4-ip.yaml", "utf8"))[1];
    const pinRoute = { "x-dynamic-subset-subset": `%ip%.${token}` };
    const pinned = await session.request({ ...pinRoute, [SESSION_HEADER]: b64(`127.0.0.6:${pods.port}`) });
    assert.deepEqual([pinned.log.route, ipOf(pinned.log.host)], ["default.%ip%", "127.0.0.6"]);
    for (const address of ["127.0.0.77", "127.0.0.99"]) {
      // the unready dev/v4 pod (UNHEALTHY, not among istiod's override_host_status), and no endpoint at all
      const r = await session.request({ ...pinRoute, [SESSION_HEADER]: b64(`${address}:${pods.port}`) });
      assert.deepEqual([r.status, r.body, r.log.flags], [503, NO_HEALTHY_UPSTREAM, "UH"], address);
    }
    const seen = await observe(session, pinRoute, 24);
    assert.deepEqual([...seen.statuses], [200]);
    assert.ok(seen.pods.length > 1, `without a session header one pod took every request: ${seen.pods}`);
  });
});
