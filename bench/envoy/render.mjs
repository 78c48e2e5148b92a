// The one place where the Envoy benchmark uses the project's renderers (dist/, built by `npm run build:cli`), so
// the measured configurations are the ones users deploy. If the renderer's API changes, only this file changes.
//
//   renderMetadata(asmSources, endpoints, wasmPath) -> Promise<{ pluginConfig, httpFilters, routeConfig, clusters }>
//       `render --target envoy` (metadata mode): the listener's http_filters (wasm -> header_to_metadata ->
//       router) and route_config, and the clusters with lb_subset_config.
//   renderCatalog(asmSources, podsJson, routeToken) -> Promise<{ pluginConfig, virtualService, destinationRule }>
//       `render --target istio` (catalog mode): the WasmPlugin's plugin configuration, and the generated
//       VirtualService and DestinationRule.
//
// asmSources: [{ file, text }] of ASM YAML; endpoints: [{ host, endpoints: [{ address, port, labels }] }].

import { parseAllDocuments } from "yaml";

/** dist/ is imported only when first needed: the benchmark builds it first on a fresh clone. */
async function renderer() {
  const [asm, pods, envoy, istio] = await Promise.all([
    import("../../dist/asm/index.js"),
    import("../../dist/k8s/pods.js"),
    import("../../dist/render/envoy.js"),
    import("../../dist/render/istio.js"),
  ]);
  return { ...asm, ...pods, ...envoy, ...istio };
}

export async function renderMetadata(asmSources, endpoints, wasmPath) {
  const { parseAsm, renderEnvoy } = await renderer();
  const { documents } = renderEnvoy([{ name: "bench", input: parseAsm(asmSources) }], {
    output: "bootstrap",
    endpoints,
    wasmFilename: wasmPath,
  });
  const { static_resources: resources } = documents[0].value;
  const hcm = resources.listeners[0].filter_chains[0].filters[0].typed_config;
  const wasm = hcm.http_filters.find((f) => f.name === "envoy.filters.http.wasm");
  return {
    pluginConfig: JSON.parse(wasm.typed_config.config.configuration.value),
    httpFilters: hcm.http_filters,
    routeConfig: hcm.route_config,
    clusters: resources.clusters,
  };
}

export async function renderCatalog(asmSources, podsJson, routeToken) {
  const { parseAsm, parsePods, renderIstio } = await renderer();
  // The WasmPlugin's URL is required but unused here: the benchmark's Envoy loads the module from a file.
  const options = { routeToken, wasmUrl: "oci://bench.invalid/dynamic-subset:bench" };
  const out = renderIstio(parseAsm(asmSources), { pods: parsePods(podsJson, "bench pods") }, options);
  const docs = parseAllDocuments(out.yaml).map((d) => d.toJS());
  const ofKind = (kind) => docs.find((d) => d?.kind === kind);
  return {
    pluginConfig: out.pluginConfig,
    virtualService: ofKind("VirtualService"),
    destinationRule: ofKind("DestinationRule"),
  };
}
