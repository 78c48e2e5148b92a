// Catalog mode in real Envoy: %ip% pins under NO_FALLBACK are strict (issue 17, docs/istio.md "Strict %ip% pins").
// Istio's own configuration makes a pin best effort: the Service's stateful session is never `strict`, and retries go
// to another host (Envoy's router does not apply the session's host to a retry). The istio target therefore renders,
// for a %ip% selector that falls back with NO_FALLBACK, a pin route per user route (`<route>.%ip%`, no retries) and an
// EnvoyFilter that gives it a strict session; the filter selects it with `x-dynamic-subset-subset: %ip%.<token>`.
// Here istiod's configuration of those manifests (./istiod.mjs, the EnvoyFilter merged as istiod merges it) runs in
// real Envoy: a pinned pod that is unhealthy, gone, ejected or refusing connections gets 503, never another pod, and
// a pod's 503 is not retried elsewhere even where the user's route retries 5xx. The Istio model
// (test/e2e/mesh-istio.mjs) predicts the routes and the 503s of pods that are not usable.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import { NO_HEALTHY_UPSTREAM } from "../../examples/helloworld/walkthrough.mjs";
import { IstioSidecar, emulatedFilter } from "../e2e/mesh-istio.mjs";
import { forEachEnvoy } from "./envoys.mjs";
import { podsWith, seedPods, startPods } from "./istiod-pods.mjs";
import { localManifest, localPods, renderSeedStep, startIstioSidecar } from "./istiod-sidecar.mjs";

const WASM = "build/dynamic_subset.wasm";
const SEED_PODS = readFileSync("examples/helloworld/pods.json", "utf8");
const SERVICE = readFileSync("istio/app.yaml", "utf8");
const HOST = "helloworld.default.svc.cluster.local";
const BASE_CLUSTER = `outbound|8000||${HOST}`;
const ipOf = (hostPort) => hostPort?.replace(/:\d+$/, "");

/**
 * The seed's step 4 where the user's route retries 5xx twice (a VirtualService `retries`, which the generated routes
 * keep and the pin route must not), and a request without x-ip takes the default subset (global DEFAULT_SUBSET; the
 * %ip% selector keeps NO_FALLBACK, so its pins stay strict).
 */
const withUserRetries = (text) =>
  text
    .replace("    name: default\n", "    name: default\n    retries:\n      attempts: 2\n      retryOn: 5xx\n")
    .replace(
      "        - keys:\n          - '%ip%'\n",
      "        - keys:\n          - '%ip%'\n          fallbackPolicy: NO_FALLBACK\n        fallbackPolicy: DEFAULT_SUBSET\n",
    );

/** Outlier detection on the DestinationRule: one 5xx ejects a pod for a minute. */
const withOutlierDetection = (text) =>
  text.replace(
    "  trafficPolicy:\n",
    "  trafficPolicy:\n    outlierDetection:\n      consecutive5xxErrors: 1\n      interval: 0.2s\n      baseEjectionTime: 60s\n      maxEjectionPercent: 100\n",
  );

forEachEnvoy("real Envoy, catalog mode: %ip% pins under NO_FALLBACK are strict (pin routes + EnvoyFilter)", (envoy) => {
  let pods;
  let podsText;
  const sidecars = new Map(); // name -> { sidecar, manifests, runFilter }

  async function start(name, manifestsText) {
    const manifests = localManifest(manifestsText, pods.port);
    const sidecar = await startIstioSidecar(envoy.bin, { manifests, pods: podsText, services: SERVICE });
    const { pluginConfig } = new IstioSidecar(manifests, podsText, SERVICE);
    const host = await ProxyWasmHost.load(WASM, {
      pluginConfig: JSON.stringify(pluginConfig),
      rootId: "dynamic_subset",
    });
    assert.ok(host.start(), `${name}: the emulator refused the plugin configuration`);
    sidecars.set(name, { sidecar, manifests, runFilter: emulatedFilter(host) });
  }

  /** What the Istio model predicts for a pinned request with the pods as `podsNow` says. */
  function predictPin(name, ip, podsNow) {
    const { manifests, runFilter } = sidecars.get(name);
    const got = new IstioSidecar(manifests, podsNow, SERVICE).request([["x-ip", ip]], runFilter);
    return { status: got.status, route: got.route, pods: got.pods };
  }

  before(async () => {
    pods = await startPods(seedPods(SEED_PODS));
    podsText = localPods(SEED_PODS, pods.port);
    await start("strict", renderSeedStep("step4-ip", withUserRetries));
    await start(
      "ejecting",
      renderSeedStep("step4-ip", (t) => withOutlierDetection(withUserRetries(t))),
    );
  });
  after(async () => {
    for (const { sidecar } of sidecars.values()) await sidecar.close();
    await pods?.close();
  });

  test("the rendered manifests: a pin route without retries, made strict by the EnvoyFilter in Envoy's config", async () => {
    const dump = JSON.parse((await sidecars.get("strict").sidecar.admin("/config_dump")).body);
    const listener = dump.configs.find((c) => c["@type"].endsWith("ListenersConfigDump")).static_listeners[0];
    const [vhost] = listener.listener.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts;
    const byName = new Map(vhost.routes.map((r) => [r.name, r]));
    const pin = byName.get("default.%ip%");
    assert.ok(pin, `no pin route among ${[...byName.keys()]}`);
    assert.equal(pin.route.cluster, BASE_CLUSTER);
    assert.equal(pin.route.retry_policy, undefined, "retries: {attempts: 0} -> no retry policy");
    const session = pin.typed_per_filter_config["envoy.filters.http.stateful_session"].stateful_session;
    assert.equal(session.strict, true);
    assert.equal(session.session_state.typed_config.name, "x-dynamic-subset-host");
    const users = vhost.routes.filter((r) => r.name === "default");
    assert.equal(users.length, 2, "the user's route without the subset header first, unchanged last");
    for (const user of users) {
      assert.equal(user.route.retry_policy.num_retries, 2, "the user's route keeps its retries");
      assert.equal(
        user.typed_per_filter_config["envoy.filters.http.stateful_session"].stateful_session.strict,
        undefined,
      );
    }
    assert.deepEqual(
      vhost.routes.map((r) => r.name.replace(/ds-[\w-]+/, "<subset>")),
      ["default", "default.<subset>", "default.%ip%", "default"],
      "the user's route (without the subset header), subset routes, the pin route, the user's route",
    );
  });

  test("a pin to a ready pod: that pod, on the pin route", async () => {
    const { sidecar } = sidecars.get("strict");
    assert.deepEqual(predictPin("strict", "127.0.0.104", podsText), {
      status: 200,
      route: "default.%ip%",
      pods: ["127.0.0.104"],
    });
    for (let i = 0; i < 6; i++) {
      const r = await sidecar.request({ "x-ip": "127.0.0.104" });
      assert.deepEqual(
        { status: r.status, route: r.log.route, cluster: r.log.cluster, pod: ipOf(r.log.host) },
        { status: 200, route: "default.%ip%", cluster: BASE_CLUSTER, pod: "127.0.0.104" },
      );
    }
  });

  describe("a pinned pod that cannot be used: 503, never another pod", () => {
    for (const change of ["unready", "removed"]) {
      test(`${change === "unready" ? "unhealthy (not Ready: istiod sends it as UNHEALTHY)" : "gone from the endpoints"}`, async () => {
        const { sidecar } = sidecars.get("strict");
        const changed = podsWith(podsText, "127.0.0.6", change);
        await sidecar.setPods(changed);
        try {
          for (let i = 0; i < 6; i++) {
            const r = await sidecar.request({ "x-ip": "127.0.0.6" });
            assert.deepEqual(
              { status: r.status, body: r.body, route: r.log.route, flags: r.log.flags, decision: r.log.decision },
              {
                status: 503,
                body: NO_HEALTHY_UPSTREAM,
                route: "default.%ip%",
                flags: "UH",
                decision: "subset:%ip%=127.0.0.6",
              },
            );
          }
          assert.deepEqual(predictPin("strict", "127.0.0.6", changed), {
            status: 503,
            route: "default.%ip%",
            pods: undefined,
          });
        } finally {
          await sidecar.setPods(podsText);
        }
      });
    }

    test("ejected by outlier detection (DestinationRule outlierDetection, one 5xx)", async () => {
      const { sidecar } = sidecars.get("ejecting");
      pods.fail("127.0.0.103", 503, 1);
      const failed = await sidecar.request({ "x-ip": "127.0.0.103" });
      assert.deepEqual([failed.status, ipOf(failed.log.host), failed.log.attempts], [503, "127.0.0.103", 1]);
      const deadline = Date.now() + 5000;
      let flags;
      do {
        const { body } = await sidecar.admin("/clusters");
        flags = body
          .split("\n")
          .find((l) => l.startsWith(`${BASE_CLUSTER}::127.0.0.103:`) && l.includes("health_flags"));
      } while (!flags?.includes("failed_outlier_check") && Date.now() < deadline);
      assert.match(flags ?? "", /failed_outlier_check/, "the pod was not ejected");
      for (let i = 0; i < 4; i++) {
        const r = await sidecar.request({ "x-ip": "127.0.0.103" });
        assert.deepEqual([r.status, r.body, r.log.flags], [503, NO_HEALTHY_UPSTREAM, "UH"]);
      }
    });

    test("refusing connections: no retry to another pod (UF, one attempt)", async () => {
      const { sidecar } = sidecars.get("strict");
      await pods.stop("127.0.0.252"); // for good: the last test that needs it
      for (let i = 0; i < 4; i++) {
        const r = await sidecar.request({ "x-ip": "127.0.0.252" });
        assert.deepEqual(
          { status: r.status, flags: r.log.flags, attempts: r.log.attempts, pod: ipOf(r.log.host) },
          { status: 503, flags: "UF", attempts: 1, pod: "127.0.0.252" },
        );
      }
    });
  });

  test("a pod that answers 503 once: the 503 comes back, not retried on another pod (the user's route retries 5xx)", async () => {
    const { sidecar } = sidecars.get("strict");
    pods.fail("127.0.0.104", 503, 1);
    const r = await sidecar.request({ "x-ip": "127.0.0.104" });
    assert.deepEqual(
      { status: r.status, attempts: r.log.attempts, pod: ipOf(r.log.host), route: r.log.route },
      { status: 503, attempts: 1, pod: "127.0.0.104", route: "default.%ip%" },
    );
    // The control: the default subset's generated route keeps the user's retries, so a 503 is retried on the other
    // prod/v3 pod (previous_hosts), which fails once too, then on the first again.
    pods.fail("127.0.0.104", 503, 1);
    pods.fail("127.0.0.6", 503, 1);
    const unpinned = await sidecar.request({});
    assert.deepEqual(
      { status: unpinned.status, attempts: unpinned.log.attempts, decision: unpinned.log.decision },
      { status: 200, attempts: 3, decision: "fallback:DEFAULT_SUBSET" },
    );
  });
});
