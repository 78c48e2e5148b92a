// The one place where the Envoy benchmark uses the project's renderers (dist/, built by `npm run build:cli`), so
// the measured configurations are the ones users deploy. If the renderer's API changes, only this file changes.
//
//   renderMetadata(asmSources, endpoints, wasmPath) -> { pluginConfig, httpFilters, routeConfig, clusters }
//       `render --target envoy` (metadata mode): the listener's http_filters (wasm -> header_to_metadata ->
//       router) and route_config, and the clusters with lb_subset_config.
//   renderCatalog(asmSources, podsJson, routeToken) -> { pluginConfig, virtualService, destinationRule }
//       `render --target istio` (catalog mode): the WasmPlugin's plugin configuration, and the generated
//       VirtualService and DestinationRule.
//
// asmSources: [{ file, text }] of ASM YAML; endpoints: [{ host, endpoints: [{ address, port, labels }] }].

import { parseAllDocuments } from "yaml";
import { parseAsm } from "../../dist/asm/index.js";
import { parsePods } from "../../dist/k8s/pods.js";
import { renderEnvoy } from "../../dist/render/envoy.js";
import { renderIstio } from "../../dist/render/istio.js";

export function renderMetadata(asmSources, endpoints, wasmPath) {
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

export function renderCatalog(asmSources, podsJson, routeToken) {
  const out = renderIstio(parseAsm(asmSources), { pods: parsePods(podsJson, "bench pods") }, { routeToken });
  const docs = parseAllDocuments(out.yaml).map((d) => d.toJS());
  const ofKind = (kind) => docs.find((d) => d?.kind === kind);
  return {
    pluginConfig: out.pluginConfig,
    virtualService: ofKind("VirtualService"),
    destinationRule: ofKind("DestinationRule"),
  };
}
