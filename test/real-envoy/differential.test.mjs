// Differential suite: the emulator (with the Envoy models in metadata mode, the Istio model in catalog mode) against
// real Envoy, on one table of scenarios (./differential-scenarios.mjs: the seed walkthrough, every fallback policy and
// per-selector override, the most-keys selector choice, unmatchable values, %ip%, no mapping, an unconfigured
// cluster, spoofed internal headers, responseHeader), in both modes, on every pinned Envoy version. For each request
// both sides must show the same status, body, set of pods reached, filter state, response headers, headers reaching
// the pod and counter deltas (./differential-modes.mjs). A disagreement is fixed where it is wrong and recorded in
// emulator/README.md ("Differences found in real Envoy").

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { forEachEnvoy } from "./envoys.mjs";
import {
  buildWorld,
  catalogManifests,
  catalogServices,
  emulatedCatalog,
  emulatedMetadata,
  matchesHeadersIndividually,
  metadataConfigs,
  realCatalog,
  realMetadata,
  repeatsFor,
  requestHeaders,
  worldEchoPods,
} from "./differential-modes.mjs";
import { SCENARIOS } from "./differential-scenarios.mjs";
import { startPods } from "./istiod-pods.mjs";

const requestsOf = (scenario, mode) => scenario.requests.filter((r) => !r.modes || r.modes.includes(mode));

/** Sends every request of a scenario to both sides; returns how many were compared. */
async function compare(scenario, mode, world, emulated, real) {
  for (const request of requestsOf(scenario, mode)) {
    // The Host names the scenario's service for both sides (a request may name another one).
    const own = requestHeaders(request, world);
    const pairs = own.some(([k]) => k.toLowerCase() === "host") ? own : [["host", `${scenario.service}:8000`], ...own];
    const options = { path: request.path ?? "/" };
    const expected = emulated.observe(pairs, options);
    const got = await real.observe(pairs, options, repeatsFor(expected.pods?.length ?? 1));
    assert.deepEqual(got, expected, `${mode} mode, ${scenario.title}: ${request.name} (real Envoy vs emulator)`);
  }
  return requestsOf(scenario, mode).length;
}

/** No scenario may drop out unnoticed; the count is the suite's report. */
function everyRequestCompared(t, mode, compared) {
  const expected = SCENARIOS.reduce((n, s) => n + requestsOf(s, mode).length, 0);
  assert.equal(compared, expected);
  t.diagnostic(`${mode} mode: ${SCENARIOS.length} scenarios, ${compared} requests compared`);
}

forEachEnvoy("differential, metadata mode: the emulator and its Envoy models against real Envoy", (envoy) => {
  let pods;
  let world;
  let configs;
  let real;
  let compared = 0;

  before(async () => {
    pods = await startPods(worldEchoPods());
    world = buildWorld(pods.port);
    configs = metadataConfigs(world);
    real = await realMetadata(envoy.bin, configs.bootstrap, pods);
  });
  after(async () => {
    await real?.close();
    await pods?.close();
  });

  for (const scenario of SCENARIOS) {
    test(scenario.title, async () => {
      const emulated = await emulatedMetadata(configs.parts.get(scenario.id));
      compared += await compare(scenario, "metadata", world, emulated, real.scenario(scenario));
    });
  }

  test("every scenario was compared", (t) => everyRequestCompared(t, "metadata", compared));
});

forEachEnvoy(
  "differential, catalog mode: the emulator and the Istio model against an istiod-shaped sidecar",
  (envoy) => {
    let pods;
    let world;
    let compared = 0;

    before(async () => {
      pods = await startPods(worldEchoPods());
      world = buildWorld(pods.port);
    });
    after(async () => {
      await pods?.close();
    });

    for (const scenario of SCENARIOS) {
      test(scenario.title, async () => {
        const manifests = catalogManifests(scenario, world);
        const services = catalogServices(scenario, world);
        const emulated = await emulatedCatalog(manifests, world, services, {
          matchHeadersIndividually: matchesHeadersIndividually(envoy.version),
        });
        const real = await realCatalog(envoy.bin, manifests, world, services, pods);
        try {
          compared += await compare(scenario, "catalog", world, emulated, real);
        } finally {
          await real.close();
        }
      });
    }

    test("every scenario was compared", (t) => everyRequestCompared(t, "catalog", compared));
  },
);
