// The soak's Envoys, in both modes, for ./steady.mjs:
//   metadataSoakEnvoy(bin, world)           the envoy target's bootstrap for every scenario (one listener each),
//                                           as differential-modes.mjs renders it, in one Envoy
//   catalogSoakEnvoys(bin, world, version)  one istiod-shaped sidecar per scenario (./traffic.mjs catalogTargets)
// Both -> [{ name, envoy, running(), targets: [{ name, port, cases }] }] and close().
// No access log: a soak writes millions of requests; check.lua sees every answer instead.

import { metadataConfigs } from "../real-envoy/differential-modes.mjs";
import { twoAtATime } from "../real-envoy/envoys.mjs";
import { startIstioSidecar } from "../real-envoy/istiod-sidecar.mjs";
import { startEnvoy } from "../../envoy/local-envoy.mjs";
import { catalogTargets, metadataTargets } from "./traffic.mjs";

const hcmOf = (listener) => listener.filter_chains[0].filters[0].typed_config;

export function withoutAccessLogs(bootstrap) {
  for (const listener of bootstrap.static_resources.listeners) delete hcmOf(listener).access_log;
  return bootstrap;
}

/** Tracks whether an Envoy (startEnvoy's or a sidecar) is still running. */
function running(envoy) {
  let exited = false;
  envoy.exited.then(() => (exited = true));
  return () => !exited;
}

const isWasm = (f) => f.name === "envoy.filters.http.wasm";

/**
 * wasm: another module for the filter (the soak's control runs one that traps), or false for no Wasm filter at all
 * (./memory.mjs compares Envoy's memory with and without it).
 */
export async function metadataSoakEnvoy(bin, world, { wasm } = {}) {
  const configs = metadataConfigs(world);
  const targets = await metadataTargets(world, configs);
  const bootstrap = withoutAccessLogs(configs.bootstrap);
  for (const listener of bootstrap.static_resources.listeners) {
    const hcm = hcmOf(listener);
    if (wasm === false) hcm.http_filters = hcm.http_filters.filter((f) => !isWasm(f));
    else if (wasm)
      for (const f of hcm.http_filters.filter(isWasm)) f.typed_config.config.vm_config.code.local.filename = wasm;
  }
  const envoy = await startEnvoy(bin, bootstrap);
  return {
    envoys: [
      {
        name: "metadata",
        envoy,
        running: running(envoy),
        targets: targets.map((t) => ({ name: t.listener, port: envoy.ports[t.listener], cases: t.cases })),
      },
    ],
    close: () => envoy.close(),
  };
}

/** Sidecars run with --concurrency 1 (twelve of them share the machine's two cores). */
export async function catalogSoakEnvoys(bin, world, version) {
  const targets = await catalogTargets(world, version);
  const sidecars = await twoAtATime(
    targets.map(
      (t) => () =>
        startIstioSidecar(
          bin,
          { manifests: t.manifests, pods: world.podsText, services: t.services },
          { editBootstrap: withoutAccessLogs, args: ["--concurrency", "1"] },
        ),
    ),
  );
  return {
    envoys: sidecars.map((sidecar, i) => ({
      name: `catalog ${targets[i].scenario.id}`,
      envoy: sidecar,
      running: running(sidecar),
      targets: [{ name: targets[i].scenario.id, port: sidecar.port, cases: targets[i].cases }],
    })),
    close: () => Promise.all(sidecars.map((s) => s.close())),
  };
}
