// Shared setup for the compiled-filter tests: the example configuration of docs/configuration.md (the seed's helloworld
// deployment) in both modes, a host that loads build/dynamic_subset.wasm like Envoy, and request helpers.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import { specExampleService } from "../../examples/helloworld/plugin-config.mjs";

export const WASM = new URL("../../build/dynamic_subset.wasm", import.meta.url);
export const ROUTE_TOKEN = "9f3c1a7e52d04b68";
export const PREFIX = "x-dynamic-subset-";
export const SUBSET_HEADER = `${PREFIX}subset`;
export const SESSION_HEADER = `${PREFIX}host`;

/** Seed pods: [ip, stage, version]. */
export const PODS = [
  ["192.168.0.5", "dev", "v1"],
  ["192.168.0.1", "dev", "v2"],
  ["192.168.0.252", "dev", "v3"],
  ["192.168.0.103", "prod", "v2"],
  ["192.168.0.104", "prod", "v3"],
  ["192.168.0.6", "prod", "v3"],
];

export function seedCatalog() {
  const subsets = new Map();
  for (const [, stage, version] of PODS)
    subsets.set(`${stage}-${version}`, { name: `${stage}-${version}`, labels: { stage, version } });
  return {
    routeToken: ROUTE_TOKEN,
    subsets: [...subsets.values()],
    endpoints: PODS.map(([ip, stage, version]) => ({ address: `${ip}:8000`, labels: { stage, version } })),
  };
}

/**
 * The example of docs/configuration.md: [stage, version] with DEFAULT_SUBSET, [%ip%], global NO_FALLBACK, routes
 * default + pin.
 */
export function seedService(mode) {
  return { ...specExampleService(), ...(mode === "catalog" ? { catalog: seedCatalog() } : {}) };
}

export function seedConfig(mode, extra = {}) {
  return { mode, services: [seedService(mode)], ...extra };
}

export const wasmBytes = (() => {
  try {
    return new Uint8Array(readFileSync(WASM));
  } catch {
    return null;
  }
})();

/** A started host (one worker) with `config` (object or raw string); asserts it configured. */
export async function startFilter(config, options = {}) {
  assert.ok(wasmBytes, `${WASM.pathname} is missing: run npm run build:wasm`);
  const pluginConfig = typeof config === "string" ? config : JSON.stringify(config);
  const host = await ProxyWasmHost.load(wasmBytes, { pluginConfig, rootId: "dynamic_subset", ...options });
  assert.equal(host.start(), true, `the filter rejected its configuration: ${host.logsAt("error").join("\n")}`);
  return host;
}

/** The lines the filter itself logged at `level` (the host's own lines left out), exactly as it wrote them: real
 * Envoy prints each after its `wasm log <root id> <vm id>: ` (test/real-envoy/config.test.mjs). */
export function filterLogs(host, level) {
  return host.logs.filter((l) => l.from === "guest" && l.level === level).map((l) => l.message);
}

/** One request through the filter (the host's plugin, or `root` from host.addRoot): the stream after on_request_headers. */
export function send(host, { cluster = "helloworld", route = "default", headers = [], root } = {}) {
  const properties = {};
  if (cluster !== null) properties["xds.cluster_name"] = cluster;
  if (route !== null) properties["xds.route_name"] = route;
  const s = host.newStream({ properties, root });
  s.status = s.requestHeaders(headers);
  return s;
}

/** Internal headers left in the request (names starting with the prefix). */
export function internalHeaders(s, prefix = PREFIX) {
  return s.requestHeaderMap.filter(([name]) => name.startsWith(prefix));
}

export function decisionOf(s) {
  return s.filterState.get("wasm.dynamic_subset");
}

export function b64(text) {
  return Buffer.from(text).toString("base64");
}

export const OUTCOMES = ["subset", "fallback_any", "fallback_default", "no_fallback", "no_selector", "unmatchable"];

export function outcomeCounter(outcome) {
  return `dynamic_subset_outcome=.=${outcome};.;dynamic_subset_outcomes_total`;
}

/** Outcome counters as {outcome: number}, zeros left out. */
export function outcomeCounts(host) {
  const counts = {};
  for (const o of OUTCOMES) {
    const v = host.counter(outcomeCounter(o));
    if (v) counts[o] = Number(v);
  }
  return counts;
}
