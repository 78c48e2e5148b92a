// The four ways the differential suite (./differential.test.mjs) runs a scenario of ./differential-scenarios.mjs,
// all from the same rendered configuration (the renderer's dist/ functions, as a user's CLI run):
//   metadata, emulated  the envoy target's parts, the filter in the emulator, Envoy's header_to_metadata and subset
//                       load balancer as models (envoy/emulated-envoy.mjs)
//   metadata, real      the envoy target's bootstrap (every scenario a listener) in real Envoy
//   catalog, emulated   the istio target, the filter in the emulator, the Istio model (test/e2e/mesh-istio.mjs)
//   catalog, real       the same manifests as istiod programs a sidecar (./istiod.mjs), in real Envoy
// Each answers observe(request) with an Observation, the same shape for all four:
//   { status, body (not for 200: a pod's own text), pods (200: the IPs that answered, sorted), decision (the
//     filter state, null when unset), decisionHeader (x-dynamic-subset response header or null), internalResponse
//     (other x-dynamic-subset* response headers: names), upstream (the internal headers and the client's own headers
//     that reached the pod, sorted [name, value]), counters ({counter: delta} of the filter's counters) }
// A real Envoy is asked repeatedly (enough to see every pod of a set); what it answers must not vary otherwise.

import { readFileSync } from "node:fs";
import { parseAllDocuments, stringify } from "yaml";
import { parseAsm, readAsmFiles } from "../../dist/asm/index.js";
import { parsePods, parseService, servingEndpoints } from "../../dist/k8s/pods.js";
import { renderEnvoy } from "../../dist/render/envoy.js";
import { renderIstio } from "../../dist/render/istio.js";
import { ProxyWasmHost } from "../../emulator/index.mjs";
import { MetadataModeEnvoy, WASM } from "../../envoy/emulated-envoy.mjs";
import { startEnvoy } from "../../envoy/local-envoy.mjs";
import { IstioSidecar, emulatedFilter } from "../e2e/mesh-istio.mjs";
import { ACCESS_LOG, FLUSH_ARGS, TEST_ID, observedRequests } from "./istiod-access-log.mjs";
import { localPods, startIstioSidecar } from "./istiod-sidecar.mjs";
import { NAMESPACE, OTHER, ROUTE_TOKEN, SCENARIOS, fqdn, scenarioPods } from "./differential-scenarios.mjs";

const SEED_PODS = readFileSync("examples/helloworld/pods.json", "utf8");
const SEED_SERVICE = readFileSync("istio/app.yaml", "utf8");
const INTERNAL = "x-dynamic-subset";
const DECISION_HEADER = "x-dynamic-subset";
const SERVICE_PORT = 8000;

// ---- the world: pods, Services, endpoints -----------------------------------------------------------------------

export function podJson({ ip, labels }, port) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${labels.app}-${ip.replaceAll(".", "-")}`, namespace: NAMESPACE, labels },
    spec: { containers: [{ name: "app", ports: [{ name: "http", containerPort: port }] }] },
    status: { phase: "Running", podIP: ip, conditions: [{ type: "Ready", status: "True" }] },
  };
}

export function serviceYaml(name) {
  return stringify({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NAMESPACE, labels: { app: name } },
    spec: { selector: { app: name }, ports: [{ name: "http", port: SERVICE_PORT, targetPort: "http" }] },
  });
}

/** Every scenario's pods (and the other service's), with their labels; port-independent. */
function generatedPods() {
  const otherPods = OTHER.pods.map((p) => ({ ...p, labels: { app: OTHER.service, ...p.labels } }));
  return [...SCENARIOS.flatMap(scenarioPods), ...otherPods];
}

/** The echo pods every world needs ({ ip, labels }), to start before the port they share is known. */
export function worldEchoPods() {
  // (the port only fills containerPort, which echo pods do not read)
  const seedItems = JSON.parse(localPods(SEED_PODS, 1)).items.filter(
    (p) => p.status?.podIP && p.spec.containers[0].ports,
  );
  const seed = seedItems.map((p) => ({ ip: p.status.podIP, labels: p.metadata.labels }));
  return [...generatedPods(), ...seed];
}

/**
 * Every pod of every scenario on `port` (the seed's pods.json for the seed scenarios), their Services, and the
 * ready endpoints the metadata mode's endpoints file lists (the same Kubernetes rule the istio target uses).
 */
export function buildWorld(port) {
  const generated = generatedPods();
  const seedItems = JSON.parse(localPods(SEED_PODS, port)).items;
  const podsText = JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [...seedItems, ...generated.map((p) => podJson(p, port))],
  });
  const names = [...new Set(["helloworld", OTHER.service, ...SCENARIOS.map((s) => s.service)])];
  const services = new Map(names.map((name) => [name, name === "helloworld" ? SEED_SERVICE : serviceYaml(name)]));
  const pods = parsePods(podsText, "pods.json");
  const endpoints = names.map((name) => ({
    host: fqdn(name),
    endpoints: servingEndpoints(pods, parseService(services.get(name), `${name}.yaml`), {
      name,
      namespace: NAMESPACE,
      destinationPort: SERVICE_PORT,
    }).endpoints.map((ep) => ({ address: ep.ip, port: ep.port, labels: ep.labels })),
  }));
  return { port, podsText, services, endpoints };
}

// Some scenarios map a key no selector uses on purpose (the filter must ignore it, on both sides), which the
// renderer refuses unless told: the same --allow a user would pass.
const ALLOWED = new Set(["unused-key"]);

const scenarioInput = (scenario) => (scenario.files ? readAsmFiles(scenario.files) : parseAsm(scenario.asm));

/** The request's header pairs (a function of the world where a value names the pods' port). */
export const requestHeaders = (request, world) =>
  typeof request.headers === "function" ? request.headers(world) : request.headers;

// ---- observations -----------------------------------------------------------------------------------------------

/** The headers that matter upstream: the filter's own and the ones the client sent (by name). */
function upstreamHeaders(pairs, clientPairs) {
  const sent = new Set(clientPairs.map(([k]) => k.toLowerCase()).filter((k) => k !== "host"));
  return pairs
    .map(([k, v]) => [k.toLowerCase(), String(v)])
    .filter(([k]) => k.startsWith(INTERNAL) || sent.has(k))
    .sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
}

/** Response headers as pairs (Node's joined object, or the emulator's pairs). */
function responseFacts(pairs) {
  const decision = pairs.filter(([k]) => k === DECISION_HEADER).map(([, v]) => v);
  return {
    decisionHeader: decision.length > 0 ? decision.join(", ") : null,
    internalResponse: pairs.filter(([k]) => k.startsWith(`${INTERNAL}-`)).map(([k]) => k),
  };
}

function counterDeltas(before, after) {
  const out = {};
  for (const [name, value] of after) {
    const delta = value - (before.get(name) ?? 0);
    if (delta !== 0) out[name] = delta;
  }
  return out;
}

const emulatorCounters = (host) => new Map([...host.counters].map(([name, c]) => [name, Number(c.value)]));

/** Enough repeats to see every one of n pods (P(miss) < 1e-6 up to 6 pods), and a few for a single answer. */
const repeatsFor = (n) => (n <= 1 ? 3 : 15 * n);

/**
 * A real Envoy asked `repeats` times: the union of the pods that answered; everything else must be the same on
 * every answer. The first request's counters are the delta.
 */
async function observeReal(observed, pairs, { path }, repeats, pods) {
  const answers = [];
  const before = await observed.counters();
  for (let i = 0; i < repeats; i++) {
    answers.push(await observed.request(pairs, { path, waitForLog: false }));
    if (i === 0) answers[0].counters = counterDeltas(before, await observed.counters());
  }
  for (const r of answers) r.log = await observed.accessLog(r.id);
  const facts = answers.map((r) => {
    const received = pods.received.filter((x) => x.headers.some(([k, v]) => k === TEST_ID && v === r.id));
    const pairsOut = Object.entries(r.headers).flatMap(([k, v]) =>
      Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]],
    );
    return {
      status: r.status,
      ...(r.status === 200 ? {} : { body: r.body }),
      decision: r.log.decision,
      ...responseFacts(pairsOut),
      upstream: received.length > 0 ? upstreamHeaders(received.at(-1).headers, pairs) : [],
      pod: r.status === 200 ? received.at(-1)?.ip : undefined,
    };
  });
  const { pod: _pod, ...first } = facts[0];
  for (const f of facts.slice(1)) {
    const { pod: _p, ...rest } = f;
    if (JSON.stringify(rest) !== JSON.stringify(first))
      throw new Error(
        `Envoy answered the same request differently: ${JSON.stringify(first)} vs ${JSON.stringify(rest)}`,
      );
  }
  const answered = [...new Set(facts.map((f) => f.pod).filter(Boolean))].sort();
  return { ...first, ...(first.status === 200 ? { pods: answered } : {}), counters: answers[0].counters };
}

// ---- metadata mode ----------------------------------------------------------------------------------------------

/** Scenarios grouped by responseHeader (a render option of the envoy target), in table order. */
const byResponseHeader = () =>
  [true, false].map((flag) => SCENARIOS.filter((s) => Boolean(s.responseHeader) === flag)).filter((g) => g.length);

/** The envoy target's parts of each variant, for the emulator: Map name -> { plugin, httpFilters, routeConfig, clusters }. */
export function envoyParts(variants, options) {
  const documents = renderEnvoy(variants, { ...options, output: "parts" }).documents;
  const parts = new Map();
  for (const { name } of variants) {
    const [plugin, httpFilters, routeConfig, ...own] = documents
      .filter((d) => d.comment.startsWith(`${name}:`))
      .map((d) => d.value);
    parts.set(name, { plugin, httpFilters, routeConfig, clusters: own });
  }
  return parts;
}

/**
 * The envoy target's output for every scenario (one listener each, named after the scenario): the bootstrap for
 * real Envoy, with the access log of istiod-access-log.mjs, and each scenario's parts for the emulator.
 */
export function metadataConfigs(world) {
  const listeners = [];
  const clusters = [];
  const parts = new Map();
  let base;
  for (const group of byResponseHeader()) {
    const variants = group.map((s) => ({ name: s.id, input: scenarioInput(s) }));
    const options = { endpoints: world.endpoints, responseHeader: group[0].responseHeader, allowed: ALLOWED };
    const [bootstrap] = renderEnvoy(variants, { ...options, output: "bootstrap" }).documents;
    base ??= bootstrap.value;
    listeners.push(...bootstrap.value.static_resources.listeners);
    clusters.push(...bootstrap.value.static_resources.clusters);
    for (const [name, p] of envoyParts(variants, options)) parts.set(name, p);
  }
  for (const l of listeners) l.filter_chains[0].filters[0].typed_config.access_log = [ACCESS_LOG];
  return { bootstrap: { ...base, static_resources: { listeners, clusters } }, parts };
}

/** Metadata mode in the emulator, from a scenario's rendered parts. */
export async function emulatedMetadata(parts) {
  const host = await ProxyWasmHost.load(WASM, { pluginConfig: JSON.stringify(parts.plugin), rootId: "dynamic_subset" });
  if (!host.start()) throw new Error(`the filter rejected the configuration: ${host.logsAt("error").join("; ")}`);
  const envoy = new MetadataModeEnvoy(host, parts);
  return {
    observe(pairs, { path = "/" }) {
      const before = emulatorCounters(host);
      const headers = pairs.filter(([k]) => k.toLowerCase() !== "host");
      const r = envoy.request(headers, path, { response: true });
      if (host.failed) throw new Error(`the filter trapped: ${host.failure}`);
      return {
        status: r.status,
        ...(r.status === 200 ? {} : { body: r.body }),
        decision: r.decision ?? null,
        ...responseFacts(r.responseHeaders),
        upstream: r.status === 200 ? upstreamHeaders(r.upstreamHeaders, pairs) : [],
        ...(r.status === 200 ? { pods: r.hosts } : {}),
        counters: counterDeltas(before, emulatorCounters(host)),
      };
    },
  };
}

/** Metadata mode in real Envoy: every scenario's listener in one Envoy. */
export async function realMetadata(bin, bootstrap, pods) {
  const envoy = await startEnvoy(bin, bootstrap, { args: FLUSH_ARGS });
  return {
    scenario(scenario) {
      const observed = observedRequests(envoy, scenario.id, `${scenario.service}:${SERVICE_PORT}`);
      return { observe: (pairs, options, repeats) => observeReal(observed, pairs, options, repeats, pods) };
    },
    close: () => envoy.close(),
  };
}

// ---- catalog mode -----------------------------------------------------------------------------------------------

/**
 * The istio target's output for a scenario, from the world's pods and the scenario's Service. responseHeader has no
 * flag in the istio target: it is set in the WasmPlugin's pluginConfig, as a user would.
 */
export function catalogManifests(scenario, world) {
  const service = world.services.get(scenario.service);
  const out = renderIstio(
    scenarioInput(scenario),
    { pods: parsePods(world.podsText, "pods.json"), services: [parseService(service, `${scenario.service}.yaml`)] },
    // the sidecar runs build/dynamic_subset.wasm whatever the URL (istiod.mjs, as istio-agent's local copy)
    { routeToken: ROUTE_TOKEN, allowed: ALLOWED, wasmUrl: "oci://registry.example.com/dynamic-subset:0.1.0" },
  );
  if (!scenario.responseHeader) return out.yaml;
  return parseAllDocuments(out.yaml)
    .map((doc) => {
      if (doc.get("kind") === "WasmPlugin") doc.setIn(["spec", "pluginConfig", "responseHeader"], true);
      return doc.toString({ lineWidth: 0 });
    })
    .join("---\n");
}

/** The Services a scenario's sidecar knows: its own and the one no configuration names. */
export const catalogServices = (scenario, world) =>
  `${world.services.get(scenario.service)}---\n${world.services.get(OTHER.service)}`;

/** Envoy >= 1.39 matches a repeated header by any of its values (runtime guard match_headers_individually). */
export const matchesHeadersIndividually = (version) => Number(version.split(".")[1]) >= 39;

/** Catalog mode in the emulator with the Istio model. */
export async function emulatedCatalog(manifests, world, services, { matchHeadersIndividually }) {
  const model = new IstioSidecar(manifests, world.podsText, services, { matchHeadersIndividually });
  const host = await ProxyWasmHost.load(WASM, {
    pluginConfig: JSON.stringify(model.pluginConfig),
    rootId: "dynamic_subset",
  });
  if (!host.start()) throw new Error(`the filter rejected the configuration: ${host.logsAt("error").join("; ")}`);
  const runFilter = emulatedFilter(host);
  return {
    observe(pairs, { path = "/" }) {
      const before = emulatorCounters(host);
      const r = model.request(pairs, runFilter, { path });
      if (host.failed) throw new Error(`the filter trapped: ${host.failure}`);
      const filter = r.filter ?? {};
      return {
        status: r.status,
        ...(r.status === 200 ? {} : { body: r.body }),
        decision: filter.decision ?? null,
        ...responseFacts(filter.responseHeaders ?? []),
        upstream: r.status === 200 ? upstreamHeaders(r.upstreamHeaders, pairs) : [],
        ...(r.status === 200 ? { pods: r.pods } : {}),
        counters: counterDeltas(before, emulatorCounters(host)),
      };
    },
  };
}

/** Catalog mode in real Envoy: an istiod-shaped sidecar for one scenario. */
export async function realCatalog(bin, manifests, world, services, pods) {
  const sidecar = await startIstioSidecar(bin, { manifests, pods: world.podsText, services });
  return {
    observe: (pairs, options, repeats) => observeReal(sidecar, pairs, options, repeats, pods),
    close: () => sidecar.close(),
  };
}

export { repeatsFor };
