// How long a listener update carrying a large plugin configuration takes to serve its first request: Envoy reads
// its listeners from a watched file (LDS, path_config_source with watched_directory); the benchmark replaces the
// file by an atomic rename and sends requests on fresh connections until one is answered by the new listener
// (its route adds x-generation: <n>).
//
//   listenerUpdateMs(bin, { small, large, bootstrap, updates, core, headers }) -> { largeMs: [ms...], smallMs: [ms...] }
//     bootstrap(pluginConfig) gives a static bootstrap with one listener; its listener moves to LDS.

import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort, startEnvoy } from "../../envoy/local-envoy.mjs";
import { pin } from "./machine.mjs";

const DEADLINE_MS = 30_000;

/** One request on a new connection (an old one would stay on the old listener's filter chain until drained). */
function generationOf(port, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200 ? Number(res.headers["x-generation"]) : -res.statusCode));
    });
    req.setTimeout(DEADLINE_MS, () => req.destroy(new Error(`LDS: no answer within ${DEADLINE_MS} ms`)));
    req.on("error", reject);
  });
}

function listenerWith(bootstrap, pluginConfig, port, generation) {
  const listener = structuredClone(bootstrap(pluginConfig).static_resources.listeners[0]);
  listener.address.socket_address.port_value = port;
  const hcm = listener.filter_chains[0].filters[0].typed_config;
  for (const route of hcm.route_config.virtual_hosts[0].routes)
    route.response_headers_to_add = [{ header: { key: "x-generation", value: String(generation) } }];
  return { "@type": "type.googleapis.com/envoy.config.listener.v3.Listener", ...listener };
}

export async function listenerUpdateMs(bin, { small, large, bootstrap, updates, core, headers }) {
  const dir = mkdtempSync(path.join(tmpdir(), "bench-lds-"));
  const file = path.join(dir, "lds.json");
  const port = await freePort();
  const publish = (plugin, generation) => {
    const staged = path.join(dir, `.lds-${generation}.json`);
    writeFileSync(staged, JSON.stringify({ resources: [listenerWith(bootstrap, plugin, port, generation)] }));
    renameSync(staged, file);
  };
  publish(small, 1);
  const envoy = await startEnvoy(
    bin,
    {
      node: { id: "bench-lds", cluster: "bench-lds" },
      admin: {},
      dynamic_resources: {
        lds_config: {
          resource_api_version: "V3",
          path_config_source: { path: file, watched_directory: { path: dir } },
        },
      },
      static_resources: { clusters: bootstrap(small).static_resources.clusters },
    },
    { args: ["--concurrency", "1"] },
  );
  pin(envoy.pid, core);
  /** ms from the rename to the first answer from `generation`. */
  const timeUpdate = async (plugin, generation) => {
    const t0 = process.hrtime.bigint();
    publish(plugin, generation);
    for (;;) {
      const seen = await generationOf(port, headers);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (seen === generation) return ms;
      if (ms > DEADLINE_MS)
        throw new Error(`LDS: generation ${generation} not served after ${DEADLINE_MS} ms (last: ${seen})`);
    }
  };
  try {
    if ((await generationOf(port, headers)) !== 1) throw new Error("LDS: the first listener does not answer");
    const largeMs = [];
    const smallMs = [];
    for (let i = 0; i < updates; i++) {
      largeMs.push(await timeUpdate(large, 2 * i + 2));
      smallMs.push(await timeUpdate(small, 2 * i + 3));
    }
    return { largeMs, smallMs };
  } finally {
    await envoy.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
