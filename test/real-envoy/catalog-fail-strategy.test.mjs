// What the WasmPlugin's failStrategy does when the filter is not there, in real Envoy, to the configured service and to
// another Service on the same port (issue 17, docs/istio.md "Fetch failure and failStrategy"). A WasmPlugin matches a
// listener port, not a destination, so whatever replaces the filter applies to every service the client reaches on
// that port. Two ways the filter goes missing:
//   - istio-agent cannot fetch the module: it installs an RBAC filter in its place, deny-all unless the failure policy
//     is FAIL_OPEN (pkg/wasm/convert.go; ./istiod.mjs fetchFailed);
//   - the VM fails at runtime (a trap): Envoy's failure_policy, FAIL_CLOSED or FAIL_OPEN (a probe module that traps on
//     every request stands in for the filter; one worker thread, so one VM).
// The manifests are the istio target's output for the seed's step 3 (NO_FALLBACK), rendered with the default
// failStrategy and with `--fail-strategy FAIL_OPEN`.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { compileFixture } from "../../emulator/test/fixtures/build.mjs";
import { NO_HEALTHY_UPSTREAM } from "../../examples/helloworld/walkthrough.mjs";
import { forEachEnvoy } from "./envoys.mjs";
import { seedPods, startPods } from "./istiod-pods.mjs";
import { localManifest, localPods, renderSeedStep, startIstioSidecar } from "./istiod-sidecar.mjs";

const SEED_PODS = JSON.parse(readFileSync("examples/helloworld/pods.json", "utf8"));
const OTHER_IP = "127.0.0.200";

/** The seed's pods and one pod of another Service, `other`, on the same port (8000). */
function podsWithOther() {
  const pod = structuredClone(SEED_PODS.items[0]);
  pod.metadata.name = "other-1";
  pod.metadata.labels = { app: "other", stage: "other", version: "v1" };
  pod.status.podIP = "192.168.0.200";
  pod.status.podIPs = [{ ip: "192.168.0.200" }];
  return JSON.stringify({ ...SEED_PODS, items: [...SEED_PODS.items, pod] }, null, 2);
}
const OTHER_SERVICE = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "other", namespace: "default" },
  spec: { selector: { app: "other" }, ports: [{ name: "http", port: 8000, targetPort: "http" }] },
};
const SERVICES = `${readFileSync("istio/app.yaml", "utf8")}---\n${stringify(OTHER_SERVICE)}`;
const ipOf = (hostPort) => hostPort?.replace(/:\d+$/, "");
const REPEATS = 24;

forEachEnvoy(
  "real Envoy, catalog mode: failStrategy when the filter is missing, for every service on its port",
  (envoy) => {
    let pods;
    let podsText;
    let dir;
    let probe;

    before(async () => {
      const allPods = podsWithOther();
      pods = await startPods(seedPods(allPods));
      podsText = localPods(allPods, pods.port);
      dir = mkdtempSync(path.join(tmpdir(), "fail-strategy-"));
      probe = path.join(dir, "trap.wasm");
      writeFileSync(probe, await compileFixture("probe.ts"));
    });
    after(async () => {
      await pods?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** The sidecar of step 3 rendered with `failStrategy`, the filter missing as `kind` says. */
    async function sidecarWithout(kind, failStrategy) {
      const manifests = localManifest(renderSeedStep("step3-no-fallback", undefined, { failStrategy }), pods.port);
      const inputs = { manifests, pods: podsText, services: SERVICES };
      const options =
        kind === "fetch"
          ? { fetchFailed: true }
          : {
              wasm: probe,
              args: ["--concurrency", "1"],
              editBootstrap(bootstrap) {
                const hcm = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
                const { config } = hcm.http_filters[0].typed_config;
                config.root_id = "";
                config.configuration.value = "request_headers: trap";
              },
            };
      const sidecar = await startIstioSidecar(envoy.bin, inputs, options);
      return { sidecar, token: /routeToken: (\w+)/.exec(manifests)[1], failurePolicy: failurePolicyOf(manifests) };
    }

    /** `headers` REPEATS times: statuses, bodies, response details, the pods that answered, and what reached them. */
    async function send(sidecar, headers) {
      const from = pods.received.length;
      const responses = [];
      for (let i = 0; i < REPEATS; i++) responses.push(await sidecar.request(headers));
      return {
        statuses: [...new Set(responses.map((r) => r.status))].sort(),
        bodies: [...new Set(responses.map((r) => r.body))],
        details: [...new Set(responses.map((r) => r.log.details))],
        pods: [...new Set(responses.filter((r) => r.status === 200).map((r) => ipOf(r.log.host)))].sort(),
        internalHeadersReceived: pods.received
          .slice(from)
          .some(({ headers: h }) => h.some(([name]) => name.startsWith("x-dynamic-subset-"))),
      };
    }

    const NO_FALLBACK_REQUEST = { "x-stage": "prod", "x-version": "v1" }; // no such subset: 503 with the filter
    const OTHER = { host: "other:8000", "x-dynamic-subset-subset": "anything" };

    describe("FAIL_CLOSE (the renderer's default)", () => {
      test("module not fetched: deny-all RBAC, 403 for this service and for the other service on the port", async () => {
        const { sidecar, failurePolicy } = await sidecarWithout("fetch", undefined);
        try {
          assert.equal(failurePolicy, "FAIL_CLOSE");
          for (const headers of [NO_FALLBACK_REQUEST, { "x-stage": "dev", "x-version": "v1" }, OTHER]) {
            const seen = await send(sidecar, headers);
            assert.deepEqual(
              { statuses: seen.statuses, bodies: seen.bodies, details: seen.details },
              {
                statuses: [403],
                bodies: ["RBAC: access denied"],
                details: ["rbac_access_denied_matched_policy[none]"],
              },
              JSON.stringify(headers),
            );
          }
          const stats = (await sidecar.admin("/stats?filter=wasm-default")).body;
          assert.match(stats, /^http\.outbound_0\.0\.0\.0_8000\.rbac\.wasm-default-deny\.denied: 72$/m);
        } finally {
          await sidecar.close();
        }
      });

      test("VM failed: 503 for this service and for the other service on the port", async () => {
        const { sidecar } = await sidecarWithout("vm", undefined);
        try {
          for (const headers of [NO_FALLBACK_REQUEST, OTHER]) {
            const seen = await send(sidecar, headers);
            assert.deepEqual(
              { statuses: seen.statuses, details: seen.details },
              { statuses: [503], details: ["wasm_fail_stream"] },
            );
            assert.equal(seen.internalHeadersReceived, false);
          }
          assert.match(
            sidecar.log.join(""),
            /Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/,
          );
        } finally {
          await sidecar.close();
        }
      });
    });

    describe("FAIL_OPEN (--fail-strategy FAIL_OPEN)", () => {
      /** Without the filter: this service on its plain route, the other service untouched. */
      async function unfiltered(sidecar, token) {
        const noFallback = await send(sidecar, NO_FALLBACK_REQUEST);
        assert.deepEqual(noFallback.statuses, [200], "NO_FALLBACK no longer answers 503");
        assert.ok(noFallback.pods.length > 1, `prod/v1 reached only ${noFallback.pods}`);
        const dev = await send(sidecar, { "x-stage": "dev", "x-version": "v1" });
        assert.ok(
          dev.pods.some((ip) => ip !== "127.0.0.5"),
          `dev/v1 reached only ${dev.pods}: the subsets still applied`,
        );
        const chosen = await send(sidecar, {
          ...NO_FALLBACK_REQUEST,
          "x-dynamic-subset-subset": `ds-stage-dev--version-v1.${token}`,
        });
        assert.deepEqual(chosen.pods, ["127.0.0.5"], "a client with the route token picks the subset itself");
        const other = await send(sidecar, OTHER);
        assert.deepEqual([other.statuses, other.pods], [[200], [OTHER_IP]]);
        assert.equal(other.internalHeadersReceived, true, "nothing strips the internal headers any more");
      }

      test("module not fetched: allow-all RBAC, this service routed as if the filter did not exist", async () => {
        const { sidecar, token, failurePolicy } = await sidecarWithout("fetch", "FAIL_OPEN");
        try {
          assert.equal(failurePolicy, "FAIL_OPEN");
          await unfiltered(sidecar, token);
        } finally {
          await sidecar.close();
        }
      });

      test("VM failed: the request it failed on gets 503, every later one passes unfiltered", async () => {
        const { sidecar, token } = await sidecarWithout("vm", "FAIL_OPEN");
        try {
          const first = await sidecar.request(NO_FALLBACK_REQUEST);
          assert.deepEqual([first.status, first.log.details], [503, "wasm_fail_stream"]);
          await unfiltered(sidecar, token);
        } finally {
          await sidecar.close();
        }
      });
    });

    test("with the filter running, the same requests: NO_FALLBACK's 503, and the other service untouched", async () => {
      const manifests = localManifest(renderSeedStep("step3-no-fallback"), pods.port);
      const sidecar = await startIstioSidecar(envoy.bin, { manifests, pods: podsText, services: SERVICES });
      try {
        const noFallback = await send(sidecar, NO_FALLBACK_REQUEST);
        assert.deepEqual([noFallback.statuses, noFallback.bodies], [[503], [NO_HEALTHY_UPSTREAM]]);
        const other = await send(sidecar, OTHER);
        assert.deepEqual([other.statuses, other.pods, other.internalHeadersReceived], [[200], [OTHER_IP], false]);
      } finally {
        await sidecar.close();
      }
    });
  },
);

/** The WasmPlugin's failStrategy in rendered manifests. */
function failurePolicyOf(manifests) {
  const plugin = manifests
    .split(/^---$/m)
    .map((doc) => parse(doc))
    .find((doc) => doc?.kind === "WasmPlugin");
  return plugin.spec.failStrategy;
}
